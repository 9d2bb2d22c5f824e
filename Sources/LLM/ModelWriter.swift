import Compute
import Foundation
import ModelIO

/// Saves a model as a Hugging Face–style directory that `--model DIR` loads: config.json,
/// model.safetensors (HF tensor names) and the tokenizer — tokenizer.json (+ config) copied
/// from a model directory, or, for a GGUF source, `tokenizer.gguf`: a GGUF holding only the
/// source's `tokenizer.*` metadata, so the directory is self-contained.
public enum ModelWriter {
    public static let ggufTokenizerFile = "tokenizer.gguf"

    public static func save(_ model: LlamaModel, source: ModelLocation, to directory: String) throws {
        var tensors: [(name: String, tensor: Tensor)] = []
        let d = model.hiddenSize
        tensors.append(("model.embed_tokens.weight", Tensor(shape: [model.vocabSize, d], data: model.embedding)))
        for (i, l) in model.layers.enumerated() {
            let p = "model.layers.\(i)."
            tensors.append((p + "input_layernorm.weight", Tensor(shape: [d], data: l.inputNorm)))
            tensors.append((p + "post_attention_layernorm.weight", Tensor(shape: [d], data: l.postAttentionNorm)))
            for proj in Projection.allCases {
                let lin = l[proj]
                tensors.append((p + proj.hfName + ".weight", Tensor(shape: [lin.outFeatures, lin.inFeatures], data: lin.weight)))
                if let b = lin.bias { tensors.append((p + proj.hfName + ".bias", Tensor(shape: [b.count], data: b))) }
            }
        }
        tensors.append(("model.norm.weight", Tensor(shape: [d], data: model.finalNorm)))
        if let head = model.lmHead { tensors.append(("lm_head.weight", Tensor(shape: [model.vocabSize, d], data: head))) }
        var config = model.config
        config.numHeads = model.layers.map(\.heads)
        config.numKVHeads = model.layers.map(\.kvHeads)
        config.intermediateSizes = model.layers.map(\.intermediateSize)
        config.tieWordEmbeddings = model.lmHead == nil
        try HFCheckpoint.save(config: config, tensors: tensors, to: directory)

        let out = URL(fileURLWithPath: directory)
        let fm = FileManager.default
        switch source {
        case .huggingFaceDirectory(let src):
            for name in ["tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", ggufTokenizerFile] {
                let from = src.appendingPathComponent(name), to = out.appendingPathComponent(name)
                guard fm.fileExists(atPath: from.path), from.standardizedFileURL != to.standardizedFileURL else { continue }
                try? fm.removeItem(at: to)
                try fm.copyItem(at: from, to: to)
            }
        case .gguf(let url):
            let file = try GGUFFile(path: url.path)
            var w = GGUFWriter()
            for key in file.metadataKeys where key.hasPrefix("tokenizer.") || key == "general.architecture" {
                if let v = file.metadata[key] { w.add(key, v) }
            }
            try w.write(to: out.appendingPathComponent(ggufTokenizerFile).path)
        }
    }
}
