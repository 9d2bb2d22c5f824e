import Compute
import Foundation
import ModelIO

/// Saves a model as a Hugging Face–style directory that `--model DIR` loads: config.json,
/// model.safetensors (HF tensor names) and the tokenizer — tokenizer.json (+ config) copied
/// from a model directory, or, for a GGUF source, `tokenizer.gguf`: a GGUF holding only the
/// source's `tokenizer.*` metadata, so the directory is self-contained.
public enum ModelWriter {
    public static let ggufTokenizerFile = "tokenizer.gguf"

    /// Writes every registry tensor under its HF name, config.json from the model's family, and
    /// the tokenizer. The model must hold its weights dense (see `useSparseFormat(.dense)`).
    public static func save(_ model: LanguageModel, source: ModelLocation, to directory: String) throws {
        let tensors = model.parameters.map { p in
            (name: p.name, tensor: Tensor(shape: p.shape, data: model.withParameter(p.name) { $0 }))
        }
        try HFCheckpoint.save(configJSON: model.huggingFaceConfig(), tensors: tensors, to: directory)

        let out = URL(fileURLWithPath: directory)
        let fm = FileManager.default
        switch source {
        case .huggingFaceDirectory(let src):
            for name in Tokenizer.directoryFileNames + [ggufTokenizerFile] {
                let from = src.appendingPathComponent(name), to = out.appendingPathComponent(name)
                guard fm.fileExists(atPath: from.path), from.standardizedFileURL != to.standardizedFileURL else { continue }
                try? fm.removeItem(at: to)
                try fm.copyItem(at: from, to: to)
            }
        case .gguf(let url):
            let file = try GGUFFile(path: url.path)
            var w = GGUFWriter()
            if let arch = file.metadata["general.architecture"] { w.add("general.architecture", arch) }
            for (key, value) in file.tokenizerMetadata { w.add(key, value) }
            try w.write(to: out.appendingPathComponent(ggufTokenizerFile).path)
        }
    }
}
