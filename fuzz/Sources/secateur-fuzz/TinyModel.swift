import Foundation
import LLM
import ModelIO

/// A random two-layer Llama with a byte-level tokenizer (vocab 256), built once per process:
/// what the data harnesses run their accepted inputs through, so that a reader's output is
/// also shown to be usable (tokenizable, in range, runnable), not only parsed.
final class TinyModel {
    static let shared = TinyModel()

    static let config = ModelConfig(architecture: "llama", vocabSize: 256, hiddenSize: 16, headDim: 8,
                                    numHeads: [2, 2], numKVHeads: [1, 1], intermediateSizes: [32, 32],
                                    rmsNormEps: 1e-5, ropeTheta: 10000, tieWordEmbeddings: true,
                                    maxPositionEmbeddings: 64)
    /// Most tokens of one forward: keeps each execution far below the 1 s hang threshold.
    static let maxTokens = 24

    let model: LanguageModel
    let tokenizer: Tokenizer

    private init() {
        let dir = Scratch.directory("tiny-model")
        do {
            _ = try RandomCheckpoint.write(config: Self.config, seed: 1, dtype: .f32, to: dir, byteTokenizer: true)
            let loaded = try ModelLoader.load(dir)
            model = loaded.model
            tokenizer = loaded.tokenizer
        } catch {
            fatalError("cannot build the tiny model: \(error)")
        }
    }

    /// Tokenizes `text` and runs the model over its first tokens; the ids must be in range.
    func run(_ text: String) {
        let ids = tokenizer.encode(text)
        precondition(ids.allSatisfy { $0 >= 0 && Int($0) < model.vocabSize }, "token id out of range")
        forward(Array(ids.prefix(Self.maxTokens)))
    }

    func forward(_ ids: [Int32]) {
        guard !ids.isEmpty else { return }
        do {
            let logits = try model.logits(ids)
            precondition(logits.count == ids.count * model.vocabSize)
        } catch {
            fatalError("the tiny model refused in-range tokens: \(error)")
        }
    }
}
