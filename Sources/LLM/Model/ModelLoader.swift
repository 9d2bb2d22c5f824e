import Foundation
import ModelIO

/// A model ready to run: weights in float32, its tokenizer, and where it came from.
public struct LoadedModel {
    public let model: LanguageModel
    public let tokenizer: Tokenizer
    public let name: String
    public let format: String          // "gguf" or "safetensors"
    /// Where the tokenizer was read: "GGUF metadata", "tokenizer.json", "vocab.json + merges.txt"
    /// or "tokenizer.gguf" (a directory Secateur wrote from a GGUF source).
    public let tokenizerSource: String
    public let location: ModelLocation
    public let loadSeconds: Double
    /// Streaming (`ModelLoader.load(_:streamBlocks: true)`): the blocks stay in the checkpoint
    /// and are loaded one at a time through this; nil when every block is in memory.
    public var residency: LayerResidency? = nil

    /// The same checkpoint's tokenizer and provenance around another model (a structurally
    /// pruned copy of this one), so that a pipeline can go on with it in memory.
    public func replacing(model: LanguageModel) -> LoadedModel {
        LoadedModel(model: model, tokenizer: tokenizer, name: name, format: format, tokenizerSource: tokenizerSource,
                    location: location, loadSeconds: loadSeconds)
    }
}

/// An error building the model from a checkpoint (missing or misshapen tensor, NaN weights,
/// undecodable tensor type), with the file or directory it came from.
public struct ModelLoadError: Error, CustomStringConvertible {
    public let path: String
    public let underlying: Error
    public var description: String { "\(path): \(underlying)" }
}

/// Resolves `--model M` (GGUF file, Hugging Face directory, cached alias) and loads it.
public enum ModelLoader {
    /// `streamBlocks`: only the embedding, final norm and head are read now; the blocks are
    /// read one at a time through `LoadedModel.residency` (Llama family).
    public static func load(_ spec: String, streamBlocks: Bool = false) throws -> LoadedModel {
        let start = Date()
        let location = try ModelCache.resolve(spec)
        var residency: LayerResidency?
        func streamed(_ checkpoint: CheckpointSource, path: String) throws -> LanguageModel {
            let stream = try wrapErrors(path) { try LlamaLayerStream(checkpoint: checkpoint) }
            residency = stream
            return stream.model
        }
        switch location {
        case .gguf(let url):
            let file = try GGUFFile(path: url.path)
            let checkpoint = try GGUFCheckpoint(file: file)
            let tokenizer = try Tokenizer(gguf: file)
            let model = streamBlocks ? try streamed(checkpoint, path: url.path) : try build(checkpoint, path: url.path)
            return LoadedModel(model: model, tokenizer: tokenizer, name: spec, format: "gguf", tokenizerSource: "GGUF metadata",
                               location: location, loadSeconds: Date().timeIntervalSince(start), residency: residency)
        case .huggingFaceDirectory(let dir):
            let model: LanguageModel
            if streamBlocks {
                if OPTConfig.describes(directory: dir.path) {
                    throw ModelLoadError(path: dir.path, underlying: LLMError.streamingUnsupported(architecture: "OPT"))
                }
                model = try streamed(try HFCheckpoint(directory: dir.path), path: dir.path)
            } else {
                model = try build(directory: dir.path)
            }
            let ggufTokenizer = dir.appendingPathComponent(ModelWriter.ggufTokenizerFile)
            let tokenizer: Tokenizer, source: String
            if let t = try Tokenizer.load(directory: dir) {
                // tokenizer.json, or the Hub's vocab.json + merges.txt (GPT-2 style)
                tokenizer = t
                source = FileManager.default.fileExists(atPath: dir.appendingPathComponent("tokenizer.json").path)
                    ? "tokenizer.json" : "vocab.json + merges.txt"
            } else if FileManager.default.fileExists(atPath: ggufTokenizer.path) {
                // A directory Secateur wrote from a GGUF source keeps the tokenizer as GGUF metadata.
                tokenizer = try Tokenizer(gguf: try GGUFFile(path: ggufTokenizer.path))
                source = ModelWriter.ggufTokenizerFile
            } else {
                throw TokenizerError.fileNotFound(dir.appendingPathComponent("tokenizer.json").path)
            }
            return LoadedModel(model: model, tokenizer: tokenizer, name: spec, format: "safetensors", tokenizerSource: source,
                               location: location, loadSeconds: Date().timeIntervalSince(start), residency: residency)
        }
    }

    /// The family named by the directory's config.json: OPT, else the Llama family.
    static func build(directory: String) throws -> LanguageModel {
        if OPTConfig.describes(directory: directory) {
            do {
                return try OPTModel(directory: directory)
            } catch let e as LLMError {
                throw ModelLoadError(path: directory, underlying: e)
            } catch let e as TensorSourceError {
                throw ModelLoadError(path: directory, underlying: e)
            }
        }
        return try build(try HFCheckpoint(directory: directory), path: directory)
    }

    /// `LlamaModel(checkpoint:)`, with errors that do not name the file wrapped so that they do.
    static func build(_ checkpoint: CheckpointSource, path: String) throws -> LanguageModel {
        try wrapErrors(path) { try LlamaModel(checkpoint: checkpoint) }
    }

    static func wrapErrors<T>(_ path: String, _ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let e as LLMError {
            throw ModelLoadError(path: path, underlying: e)
        } catch let e as TensorSourceError {
            throw ModelLoadError(path: path, underlying: e)
        } catch let e as GGUFError {
            if case .unsupportedTensorType = e { throw ModelLoadError(path: path, underlying: e) }
            throw e
        }
    }
}
