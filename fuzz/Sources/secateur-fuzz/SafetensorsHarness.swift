import Foundation
import LLM
import ModelIO

/// One safetensors file: parsed, every tensor decoded (as floats, and as integers where it
/// holds integers), then loaded as `model.safetensors` beside a fixed tiny config.json and,
/// when its tensors make that model, run on two tokens.
enum SafetensorsHarness {
    static func run(_ input: Data) {
        let dir = Scratch.directory()
        let path = Scratch.write(input, HFCheckpoint.singleFileName, in: dir)
        guard let file = Refusal.attempt("SafetensorsFile", { try SafetensorsFile(path: path) }) else { return }
        decodeAll(file)
        Scratch.write(SeedModel.configJSON, HFCheckpoint.configFileName, in: dir)
        runModel(directory: dir)
    }

    static func decodeAll(_ file: SafetensorsFile) {
        for name in file.tensorNames {
            guard let info = file.info(name) else { continue }
            if info.dtype.isDecodableAsFloat { _ = try? file.loadTensor(name) }
            if info.dtype.isInteger { _ = try? file.loadInts(name) }
        }
    }

    /// HFCheckpoint → LlamaModel → logits of two tokens, each step allowed to refuse.
    static func runModel(directory: String) {
        guard let checkpoint = Refusal.attempt("HFCheckpoint", { try HFCheckpoint(directory: directory) }),
              let model = Refusal.attempt("LlamaModel", { try LlamaModel(checkpoint: checkpoint) }) else { return }
        _ = Refusal.attempt("logits") { try model.logits([0, Int32(model.vocabSize - 1)]) }
    }
}
