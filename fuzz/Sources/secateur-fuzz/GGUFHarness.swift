import Foundation
import LLM
import ModelIO

/// A GGUF file: parsed, every decodable tensor dequantized, the tokenizer (when the metadata
/// has one) encoding and decoding, and a model (when the file is one) run on two tokens.
enum GGUFHarness {
    static func run(_ input: Data) {
        let path = Scratch.write(input, "model.gguf", in: Scratch.directory())
        guard let file = Refusal.attempt("GGUFFile", { try GGUFFile(path: path) }) else { return }
        for t in file.tensors where t.type.isDecodable {
            _ = try? file.decodeFloat32(t)
        }
        if let tokenizer = Refusal.attempt("Tokenizer(gguf:)", { try Tokenizer(gguf: file) }) {
            TokenizerHarness.exercise(tokenizer)
        }
        guard let checkpoint = Refusal.attempt("GGUFCheckpoint", { try GGUFCheckpoint(file: file) }),
              let model = Refusal.attempt("LlamaModel", { try LlamaModel(checkpoint: checkpoint) }) else { return }
        let ids: [Int32] = [0, Int32(model.vocabSize - 1)]
        _ = Refusal.attempt("logits") { try model.logits(ids) }
    }
}
