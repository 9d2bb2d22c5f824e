import Evaluation
import Experiments
import Foundation
import LLM
import ModelIO

/// Writes the committed seed corpus (fuzz/corpus/<harness>/): small valid inputs of every
/// kind each harness reads, from which libFuzzer mutates. Binary checkpoints come from the
/// library's own writers (a random one-layer model of width 8), text formats are written here
/// by hand; the GGUF type fixtures of the test suite are copied (a few KB).
enum SeedCorpus {
    static func write(to root: String) throws {
        let fixtures = ProcessInfo.processInfo.environment["SECATEUR_FUZZ_FIXTURES"] ?? "../Tests/Fixtures"
        func put(_ harness: FuzzHarness, _ name: String, _ data: Data) {
            Scratch.write(data, "\(harness.rawValue)/\(name)", in: root)
        }
        func put(_ harness: FuzzHarness, _ name: String, _ text: String) { put(harness, name, Data(text.utf8)) }

        // Checkpoints of the seed model.
        let f32Dir = Scratch.directory("seed-f32"), f16Dir = Scratch.directory("seed-f16"), shardDir = Scratch.directory("seed-shards")
        _ = try RandomCheckpoint.write(config: SeedModel.config, seed: 7, dtype: .f32, to: f32Dir)
        _ = try RandomCheckpoint.write(config: SeedModel.config, seed: 7, dtype: .f16, to: f16Dir)
        _ = try RandomCheckpoint.write(config: SeedModel.config, seed: 7, dtype: .bf16, to: shardDir, maxShardBytes: 600)
        func contents(_ dir: String, _ name: String) throws -> Data {
            try Data(contentsOf: URL(fileURLWithPath: (dir as NSString).appendingPathComponent(name)))
        }
        put(.safetensors, "seed-model-f32.safetensors", try contents(f32Dir, HFCheckpoint.singleFileName))
        put(.safetensors, "seed-model-f16.safetensors", try contents(f16Dir, HFCheckpoint.singleFileName))
        put(.safetensors, "python-dtypes.safetensors", try contents("\(fixtures)/safetensors", "python-dtypes.safetensors"))

        let shardNames = try FileManager.default.contentsOfDirectory(atPath: shardDir)
            .filter { $0.hasPrefix("model-") && $0.hasSuffix(".safetensors") }.sorted()
        var sharded = try contents(shardDir, HFCheckpoint.indexFileName)
        for (k, name) in shardNames.enumerated() {
            precondition(name == SafetensorsIndexHarness.shardName(k + 1, of: shardNames.count), "unexpected shard name \(name)")
            sharded += Data(SafetensorsIndexHarness.separator.utf8) + (try contents(shardDir, name))
        }
        put(.safetensorsIndex, "seed-model-\(shardNames.count)-shards", sharded)
        // A one-shard index naming a single tensor of a whole file.
        put(.safetensorsIndex, "one-shard",
            Data(#"{"metadata":{},"weight_map":{"model.norm.weight":"model-00001-of-00001.safetensors"}}"#.utf8)
            + Data(SafetensorsIndexHarness.separator.utf8) + (try contents(f32Dir, HFCheckpoint.singleFileName)))

        let model = try LlamaModel(checkpoint: try HFCheckpoint(directory: f32Dir))
        let tokenizer = try SeedModel.tokenizer()
        for dtype in [ExportDType.f32, .f16, .q8_0] {
            let (writer, _) = try GGUFExport.writer(for: model, dtype: dtype, tokenizer: ExportTokenizer(tokenizer: tokenizer), name: "seed")
            put(.gguf, "seed-model-\(dtype.rawValue).gguf", writer.encoded())
        }
        for name in ["metadata.gguf", "types.gguf"] { put(.gguf, name, try contents("\(fixtures)/gguf", name)) }
        // Found hanging (FuzzFindingsTests.testDeciHeaderWithHugeZeroWidthLayersCostsNothing).
        var deci = GGUFWriter()
        deci.add("general.architecture", .string("deci"))
        for (key, value) in [("block_count", 1 << 16), ("embedding_length", 1 << 24), ("feed_forward_length", 0),
                             ("attention.head_count", 0), ("attention.key_length", 2), ("vocab_size", 8)] {
            deci.add("deci.\(key)", .uint32(UInt32(value)))
        }
        deci.add("deci.attention.layer_norm_rms_epsilon", .float32(1e-5))
        put(.gguf, "regression-deci-huge-header.gguf", deci.encoded())

        // Configs.
        put(.config, "seed-llama.json", SeedModel.configJSON)
        for family in ["llama3-ropescaling", "mistral", "qwen2", "llama-gqa-untied"] {
            put(.config, "\(family).json", try contents("\(fixtures)/tiny/\(family)", HFCheckpoint.configFileName))
        }
        put(.config, "opt.json", try contents("\(fixtures)/opt/opt-pre", HFCheckpoint.configFileName))
        put(.config, "pruned-widths.json", """
            {"architectures":["LlamaForCausalLM"],"hidden_size":8,"num_hidden_layers":2,"num_attention_heads":2,
             "num_key_value_heads":1,"intermediate_size":16,"vocab_size":32,"head_dim":4,"rms_norm_eps":1e-5,
             "secateur_num_heads":[2,1],"secateur_num_kv_heads":[1,1],"secateur_intermediate_sizes":[16,8],
             "rope_scaling":{"rope_type":"linear","factor":2.0},"tie_word_embeddings":false}
            """)

        // Tokenizers.
        put(.tokenizer, "byte-level.json", try Tokenizer.byteLevelJSON())
        put(.tokenizer, "sentencepiece-bpe.json", Tokenizers.sentencePiece)
        put(.tokenizer, "split-digits.json", Tokenizers.splitDigits + TokenizerHarness.separator
            + #"{"bos_token":"<s>","eos_token":"</s>","add_bos_token":true}"#)

        // Task files: the selector byte is the task's index in EvalTask.allCases.
        for (i, task) in EvalTask.allCases.enumerated() {
            guard let body = TaskSamples.text[task.name] else { continue }
            put(.tasks, task.name, Data([UInt8(i)]) + Data(body.utf8))
        }

        // Recovery data: selector byte = file name (low 2 bits) and window length.
        put(.recoveryData, "alpaca", Data([0 | 4 << 2]) + (try contents("\(fixtures)/recovery-data", "alpaca-sample.json")))
        put(.recoveryData, "jsonl", Data([1 | 2 << 2]) + Data(#"""
            {"text": "The quick brown fox jumps over the lazy dog."}
            {"text": "Pack my box with five dozen liquor jugs.", "meta": 1}

            """#.utf8))
        put(.recoveryData, "text", Data([2 | 6 << 2]) + Data("A line of text.\nAnother line, naïve café.\n\nLast.".utf8))

        // Corpora: selector byte = index in CorpusHarness.Target.allCases.
        let corpora = [
            " = Valkyria = \n \n Senjō no Valkyria is a game . \n \n = = Gameplay = = \n",
            " aer banknote berlitz calloway \n no it was n't black monday \n",
            " the <unk> company said \n N years ago \n",
            #"{"text": "Beginners BBQ Class Taking Place in Missoula!", "timestamp": "2019-04-25T12:57:54Z"}"# + "\n",
            #"{"text": "A long enough C4 training document with several words in it for a window."}"# + "\n",
            " = Robert Boulter = \n \n Robert Boulter is an English actor . \n",
            "usually , he would be tearing around the living room .\nbut just one look at a minion sent him practically catatonic .\n",
        ]
        for (i, text) in corpora.enumerated() { put(.corpus, "corpus-\(i)", Data([UInt8(i + 7 * 4)]) + Data(text.utf8)) }

        // Studies: the presets and a grid with every section.
        for preset in StudyPreset.allCases { put(.study, "preset-\(preset.rawValue).yaml", preset.yaml) }
        // Found hanging (StudyGridSizeTests): 200 models × 200 seeds.
        let numbers = (0..<200).map(String.init).joined(separator: ", ")
        put(.study, "regression-huge-grid.yaml", "models: [\(numbers)]\nseeds: [\(numbers)]\npruning: {method: magnitude, sparsity: 0.5}\n")
        put(.study, "grid.yaml", """
            name: grid-1
            models: [a.gguf, b]
            seeds: [0, 1]
            dense: false
            pruning:
              - {method: magnitude, sparsity: [0.5, 0.6]}
              - {method: sparsegpt, pattern: "4:8", nsamples: 4, seqlen: 16}
              - {method: l1, mode: channel, ratio: 0.2}
            recovery:
              - none
              - {method: lora, steps: 2, data: c4, teacher: dense}
            evaluation:
              perplexity: [{dataset: ptb, protocol: llm-pruner, seqlen: 128, windows: 2}]
              tasks: [rte]
              limit: 3
            slurm: {partition: cpu, time: "01:00:00"}

            """)
    }
}
