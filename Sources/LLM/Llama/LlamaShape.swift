import ModelIO

/// Published Llama-family shapes, for shape-exact random checkpoints (`RandomCheckpoint`):
/// no real weights of these sizes are reachable here, and scale work (memory, streaming,
/// seconds per parameter) depends on the shapes only. Values from each model's config.json.
public enum LlamaShape: String, CaseIterable, Codable, Sendable {
    case llama2_7b = "llama2-7b"
    case llama3_8b = "llama3-8b"
    case tinyllama_1_1b = "tinyllama-1.1b"
    case smollm2_135m = "smollm2-135m"

    public var config: ModelConfig {
        func llama(vocab: Int, hidden: Int, heads: Int, kvHeads: Int, inter: Int, layers: Int, theta: Float,
                   tied: Bool, maxPositions: Int, bos: Int, eos: Int) -> ModelConfig {
            ModelConfig(architecture: "llama", vocabSize: vocab, hiddenSize: hidden, headDim: hidden / heads,
                        numHeads: Array(repeating: heads, count: layers), numKVHeads: Array(repeating: kvHeads, count: layers),
                        intermediateSizes: Array(repeating: inter, count: layers), rmsNormEps: 1e-5, ropeTheta: theta,
                        tieWordEmbeddings: tied, maxPositionEmbeddings: maxPositions, bosTokenID: bos, eosTokenID: eos)
        }
        switch self {
        case .llama2_7b:       // meta-llama/Llama-2-7b-hf
            return llama(vocab: 32000, hidden: 4096, heads: 32, kvHeads: 32, inter: 11008, layers: 32, theta: 10000,
                         tied: false, maxPositions: 4096, bos: 1, eos: 2)
        case .llama3_8b:       // meta-llama/Meta-Llama-3-8B
            return llama(vocab: 128256, hidden: 4096, heads: 32, kvHeads: 8, inter: 14336, layers: 32, theta: 500000,
                         tied: false, maxPositions: 8192, bos: 128000, eos: 128001)
        case .tinyllama_1_1b:  // TinyLlama/TinyLlama-1.1B-intermediate-step-1431k-3T
            return llama(vocab: 32000, hidden: 2048, heads: 32, kvHeads: 4, inter: 5632, layers: 22, theta: 10000,
                         tied: false, maxPositions: 2048, bos: 1, eos: 2)
        case .smollm2_135m:    // HuggingFaceTB/SmolLM2-135M
            return llama(vocab: 49152, hidden: 576, heads: 9, kvHeads: 3, inter: 1536, layers: 30, theta: 100000,
                         tied: true, maxPositions: 8192, bos: 0, eos: 0)
        }
    }

    /// Parameters of the shape (embedding, blocks, norms, head if untied).
    public var parameterCount: Int { LlamaModel.parameters(config: config).reduce(0) { $0 + $1.count } }
}
