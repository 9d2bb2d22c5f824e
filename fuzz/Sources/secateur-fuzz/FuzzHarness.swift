import Foundation

/// The fuzz targets: one per reader of files that come from strangers.
enum FuzzHarness: String, CaseIterable {
    case gguf               // GGUF file → tensors dequantized, tokenizer, model forward
    case safetensors        // one safetensors file → every tensor decoded, model forward
    case safetensorsIndex = "safetensors-index"   // sharded index + shards
    case tokenizer          // tokenizer.json → encode / decode
    case config             // config.json (Llama family and OPT) → model shape
    case tasks              // zero-shot task files → documents and prompts, scored on the tiny model
    case recoveryData = "recovery-data"   // Alpaca JSON, JSON lines, plain text → training examples
    case corpus             // perplexity and calibration corpora → text and windows
    case study              // study YAML → cells and their keys

    func prepare() {
        switch self {
        case .tasks, .recoveryData, .corpus: _ = TinyModel.shared
        default: break
        }
    }

    func run(_ input: Data) {
        switch self {
        case .gguf: GGUFHarness.run(input)
        case .safetensors: SafetensorsHarness.run(input)
        case .safetensorsIndex: SafetensorsIndexHarness.run(input)
        case .tokenizer: TokenizerHarness.run(input)
        case .config: ConfigHarness.run(input)
        case .tasks: TaskDataHarness.run(input)
        case .recoveryData: RecoveryDataHarness.run(input)
        case .corpus: CorpusHarness.run(input)
        case .study: StudyHarness.run(input)
        }
    }
}
