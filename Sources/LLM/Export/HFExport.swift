import Foundation
import ModelIO

/// A model as a Hugging Face directory that `AutoModelForCausalLM.from_pretrained` and
/// `AutoTokenizer.from_pretrained` load offline: config.json, generation_config.json, the
/// weights as model.safetensors — or, above `maxShardBytes`, shards
/// `model-0000k-of-0000n.safetensors` listed in model.safetensors.index.json (transformers'
/// layout) — and the tokenizer: the source directory's files copied as they are, or
/// tokenizer.json + tokenizer_config.json written from the tokenizer Secateur holds (a GGUF
/// source), so no GGUF is needed beside it.
///
/// transformers builds every Llama/OPT layer from one config, so a model whose layers differ
/// is refused unless `padUniform` (see `UniformPadding`). The directory appears complete or not
/// at all: it is written as a temporary sibling and renamed into place.
public enum HFExport {
    public struct Summary: Sendable, Equatable {
        public var files: [String]
        public var shards: Int
        public var tensorCount: Int
        /// Whether non-uniform layers were zero-padded (same logits, no speed-up).
        public var padded: Bool
        public var tokenizerWritten: Bool
    }

    public static let defaultMaxShardBytes = 2 << 30

    public static func write(_ model: LanguageModel, dtype: ExportDType, tokenizer: ExportTokenizer?,
                             padUniform: Bool, to directory: String,
                             maxShardBytes: Int = defaultMaxShardBytes) throws -> Summary {
        try writeDirectoryAtomically(directory) { staged in
            try write(model, dtype: dtype, tokenizer: tokenizer, padUniform: padUniform, into: staged, maxShardBytes: maxShardBytes)
        }
    }

    /// As `write(…to:…)`, into a stage the caller commits (after adding its own files).
    public static func write(_ model: LanguageModel, dtype: ExportDType, tokenizer: ExportTokenizer?,
                             padUniform: Bool, into staged: StagedDirectory,
                             maxShardBytes: Int = defaultMaxShardBytes) throws -> Summary {
        guard let stDType = dtype.safetensorsDType, let torchName = dtype.torchName else {
            throw ExportError.dtypeNotAvailable(dtype, format: .hf)
        }
        var m = model
        var padded = false
        if UniformPadding.target(model) != nil {
            guard padUniform else { throw ExportError.nonUniformWidths(summary: widthSummary(model.blockShapes)) }
            m = try UniformPadding.padded(model)
            padded = true
        }

        if let llama = m as? LlamaModel, let heads = llama.config.numHeads.first, heads > 0,
           llama.hiddenSize % heads != 0 {
            // transformers 5 validates this even when head_dim is given.
            throw ExportError.unrepresentable("transformers' LlamaConfig requires hidden_size (\(llama.hiddenSize)) to be a multiple of num_attention_heads (\(heads)); remove a multiple of \(heads) hidden channels, or export GGUF")
        }

        let tmp = staged.path
        var files: [String] = []
        func path(_ name: String) -> String { (tmp as NSString).appendingPathComponent(name) }

        files += try writeConfigs(m, torchName: torchName, in: tmp)

        let bytesPerValue = stDType == .f32 ? 4 : 2
        let groups = shardGroups(m.parameters, bytesPerValue: bytesPerValue, maxShardBytes: maxShardBytes)
        var weightMap: [String: String] = [:]
        for (k, group) in groups.enumerated() {
            let name = shardFileName(k, of: groups.count)
            var writer = SafetensorsWriter(metadata: ["format": "pt"])
            for p in group {
                try m.withParameter(p.name) { try writer.add(p.name, shape: p.shape, data: $0, as: stDType) }
                weightMap[p.name] = name
            }
            try writer.write(to: path(name))
            files.append(name)
        }
        if let index = try writeShardIndex(groups, weightMap: weightMap, bytesPerValue: bytesPerValue, in: tmp) {
            files.append(index)
        }

        var tokenizerWritten = false
        if let t = tokenizer {
            files += try writeTokenizer(t, maxPositions: m.maxPositions, in: tmp)
            tokenizerWritten = true
        }
        return Summary(files: files, shards: groups.count, tensorCount: m.parameters.count,
                       padded: padded, tokenizerWritten: tokenizerWritten)
    }
}

extension HFExport {
    /// config.json (the model's widths, `dtype` as transformers 5 names it; torch_dtype is
    /// deprecated there) and generation_config.json (its special token ids) into `tmp`.
    static func writeConfigs(_ m: LanguageModel, torchName: String, in tmp: String) throws -> [String] {
        var config = m.huggingFaceConfig()
        config["torch_dtype"] = nil
        config["dtype"] = torchName
        try writeFileAtomically(HFConfig.encode(json: config), to: (tmp as NSString).appendingPathComponent(HFCheckpoint.configFileName))
        var generation: [String: Any] = ["_from_model_config": true]
        for key in ["bos_token_id", "eos_token_id", "pad_token_id"] {
            if let v = config[key], !(v is NSNull) { generation[key] = v }
        }
        try writeFileAtomically(HFConfig.encode(json: generation), to: (tmp as NSString).appendingPathComponent("generation_config.json"))
        return [HFCheckpoint.configFileName, "generation_config.json"]
    }

    /// Writes `model` as a Hugging Face directory while `body` runs, one block at a time: `body`
    /// gets `writeBlock(i)`, to be called once per block when the block is final and in memory
    /// (a streamed prune calls it from `LayerwisePruner.layerFinished`); each block is its own
    /// shard, `model-0000(i+1)-of-0000(n)`. When `body` returns, the embedding, final norm and
    /// head go to the last shard with config.json, the index and the tokenizer, and the
    /// directory is renamed into place. Widths must be uniform (transformers' configs) unless
    /// `perLayerWidths`: then config.json lists each layer's widths, as `prune --output` writes a
    /// structurally pruned model (Secateur reads it; transformers does not).
    public static func writeStreamed<R>(_ model: LanguageModel, dtype: ExportDType, tokenizer: ExportTokenizer?,
                                        perLayerWidths: Bool = false, to directory: String,
                                        _ body: (_ writeBlock: @escaping (Int) throws -> Void) throws -> R) throws -> (R, Summary) {
        try writeDirectoryAtomically(directory) { staged in
            try writeStreamed(model, dtype: dtype, tokenizer: tokenizer, perLayerWidths: perLayerWidths, into: staged, body)
        }
    }

    /// As `writeStreamed(…to:…)`, into a stage the caller commits — so a run can add its own
    /// files (the run record) or read the model back before the directory appears.
    public static func writeStreamed<R>(_ model: LanguageModel, dtype: ExportDType, tokenizer: ExportTokenizer?,
                                        perLayerWidths: Bool = false, into staged: StagedDirectory,
                                        _ body: (_ writeBlock: @escaping (Int) throws -> Void) throws -> R) throws -> (R, Summary) {
        let directory = staged.target
        guard let stDType = dtype.safetensorsDType, let torchName = dtype.torchName else {
            throw ExportError.dtypeNotAvailable(dtype, format: .hf)
        }
        if !perLayerWidths && UniformPadding.target(model) != nil {
            throw ExportError.nonUniformWidths(summary: widthSummary(model.blockShapes))
        }
        let parameters = model.parameters
        let n = model.layerCount + 1
        var groups = [[ParameterTensor]](repeating: [], count: n)
        for p in parameters { groups[p.role.layer ?? (n - 1)].append(p) }
        var weightMap: [String: String] = [:]
        for (k, g) in groups.enumerated() { for p in g { weightMap[p.name] = shardFileName(k, of: n) } }
        let tmp = staged.path
        func path(_ name: String) -> String { (tmp as NSString).appendingPathComponent(name) }
        var written = Set<Int>()
        func writeShard(_ k: Int) throws {
            var writer = SafetensorsWriter(metadata: ["format": "pt"])
            for p in groups[k] { try model.withParameter(p.name) { try writer.add(p.name, shape: p.shape, data: $0, as: stDType) } }
            try writer.write(to: path(shardFileName(k, of: n)))
            written.insert(k)
        }
        let result = try body { i in
            precondition(i >= 0 && i < model.layerCount && !written.contains(i), "each block is written once")
            try writeShard(i)
        }
        guard written.count == model.layerCount else {
            throw ExportError.writeFailed(path: directory, reason: "only \(written.count) of \(model.layerCount) blocks were written")
        }
        try writeShard(n - 1)
        var files = try writeConfigs(model, torchName: torchName, in: tmp) + (0..<n).map { shardFileName($0, of: n) }
        if let index = try writeShardIndex(groups, weightMap: weightMap, bytesPerValue: stDType.byteSize, in: tmp) {
            files.append(index)
        }
        if let t = tokenizer { files += try writeTokenizer(t, maxPositions: model.maxPositions, in: tmp) }
        return (result, Summary(files: files, shards: n, tensorCount: parameters.count, padded: false,
                                tokenizerWritten: tokenizer != nil))
    }

    /// The tokenizer files: a source directory's copied as they are, or tokenizer.json and
    /// tokenizer_config.json written from the tokenizer held (a GGUF source). Returns the names.
    static func writeTokenizer(_ t: ExportTokenizer, maxPositions: Int, in directory: String) throws -> [String] {
        func path(_ name: String) -> String { (directory as NSString).appendingPathComponent(name) }
        var files: [String] = []
        if let src = t.huggingFaceDirectory {
            for name in Tokenizer.directoryFileNames {
                let from = src.appendingPathComponent(name)
                guard FileManager.default.fileExists(atPath: from.path) else { continue }
                try FileManager.default.copyItem(atPath: from.path, toPath: path(name))
                files.append(name)
            }
        } else {
            try writeFileAtomically(t.tokenizer.tokenizerJSONData(), to: path("tokenizer.json"))
            let cfg = t.tokenizer.tokenizerConfigObject(chatTemplate: t.chatTemplate, modelMaxLength: maxPositions)
            let data = try JSONSerialization.data(withJSONObject: cfg, options: [.prettyPrinted, .sortedKeys])
            try writeFileAtomically(data, to: path("tokenizer_config.json"))
            files += ["tokenizer.json", "tokenizer_config.json"]
        }
        return files
    }

    /// Tensors in registry order cut into shards: a new shard starts when the next tensor would
    /// overflow `maxShardBytes` (transformers' rule).
    static func shardGroups(_ parameters: [ParameterTensor], bytesPerValue: Int, maxShardBytes: Int) -> [[ParameterTensor]] {
        var groups: [[ParameterTensor]] = [[]]
        var groupBytes = 0
        for p in parameters {
            let bytes = p.count * bytesPerValue
            if !groups[groups.count - 1].isEmpty && groupBytes + bytes > maxShardBytes {
                groups.append([]); groupBytes = 0
            }
            groups[groups.count - 1].append(p)
            groupBytes += bytes
        }
        return groups
    }

    /// model.safetensors, or model-0000k-of-0000n.safetensors for shard k of n > 1.
    static func shardFileName(_ k: Int, of n: Int) -> String {
        n == 1 ? HFCheckpoint.singleFileName : String(format: "model-%05d-of-%05d.safetensors", k + 1, n)
    }

    /// model.safetensors.index.json for more than one shard (returns its name), else nothing.
    static func writeShardIndex(_ groups: [[ParameterTensor]], weightMap: [String: String], bytesPerValue: Int,
                                in directory: String) throws -> String? {
        guard groups.count > 1 else { return nil }
        let total = groups.joined().reduce(0) { $0 + $1.count * bytesPerValue }
        let index: [String: Any] = ["metadata": ["total_size": total], "weight_map": weightMap]
        let data = try JSONSerialization.data(withJSONObject: index, options: [.prettyPrinted, .sortedKeys])
        try writeFileAtomically(data, to: (directory as NSString).appendingPathComponent(HFCheckpoint.indexFileName))
        return HFCheckpoint.indexFileName
    }
}

/// Builds a directory through a `StagedDirectory`: `body` writes into the stage, which is
/// moved into place only if it returns (see `StagedDirectory` for what replaces what).
func writeDirectoryAtomically<R>(_ directory: String, _ body: (StagedDirectory) throws -> R) throws -> R {
    let staged = try StagedDirectory(target: directory)
    let result = try body(staged)
    try staged.commit()
    return result
}
