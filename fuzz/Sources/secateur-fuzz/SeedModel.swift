import Foundation
import LLM
import ModelIO

/// The smallest Llama the seed checkpoints hold (one layer, width 8, vocabulary 32), and the
/// config.json the safetensors harnesses put beside the fuzzed weights, so that a mutated
/// checkpoint still has a model to load into.
enum SeedModel {
    static let config = ModelConfig(architecture: "llama", vocabSize: 32, hiddenSize: 8, headDim: 4,
                                    numHeads: [2], numKVHeads: [1], intermediateSizes: [16],
                                    rmsNormEps: 1e-5, ropeTheta: 10000, tieWordEmbeddings: true,
                                    maxPositionEmbeddings: 64)

    static let configJSON: Data = {
        do { return try HFConfig.encode(config) } catch { fatalError("cannot encode the seed config: \(error)") }
    }()

    /// 32 tokens: the bytes "a"…"z" and a few pieces, as a GPT-2-style GGUF vocabulary.
    static func tokenizer() throws -> Tokenizer {
        var tokens = (0..<26).map { String(UnicodeScalar(UInt8(97 + $0))) }
        tokens += ["Ġ", "Ġt", "he", "Ġthe", "<s>", "</s>"]
        return try Tokenizer(ggufModel: "gpt2", pre: "default", tokens: tokens, tokenTypes: nil,
                             merges: ["Ġ t", "h e", "Ġt he"], scores: nil, bosID: 30, eosID: 31, unkID: nil,
                             addBOS: true, addEOS: false)
    }
}
