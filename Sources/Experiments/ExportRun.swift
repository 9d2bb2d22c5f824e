import Foundation
import LLM
import ModelIO

/// Export settings that do not fit the model or the format.
public enum ExportSettingError: SettingError, Equatable {
    case padUniformForGGUF
    case emptyOutput
    /// The model's layers differ and the format needs one width (HF without padding).
    case nonUniform(summary: String)
    /// Streaming writes a Hugging Face directory block by block, unpadded.
    case streamNeedsHF

    public func description(namingSetting name: (String) -> String) -> String {
        switch self {
        case .padUniformForGGUF:
            return "\(name("pad_uniform")) applies to Hugging Face exports only; GGUF keeps per-layer widths (deci)"
        case .emptyOutput:
            return "\(name("output")) is empty"
        case .streamNeedsHF:
            return "\(name("stream")) writes a Hugging Face directory (format hf) one block at a time, without \(name("pad_uniform")); a GGUF export holds the whole model"
        case .nonUniform(let s):
            return "the model's layers have different widths (\(s)), and a Hugging Face Llama/OPT config holds one width for all layers: add \(name("pad_uniform")) to zero-pad removed heads and channels up to the widest layer (same logits, no speed-up), or export GGUF, whose deci architecture keeps per-layer widths"
        }
    }
}

/// Settings of `export`.
public struct ExportSettings: Codable, Sendable, Equatable {
    public var format: ExportFormat
    public var dtype: ExportDType
    /// HF only: zero-pad non-uniform layers to the widest (same logits, no speed-up).
    public var padUniform: Bool
    public var output: String
    public var threads: Int?
    /// Blocks read from the checkpoint and written one at a time (HF only); nil: in memory.
    public var stream: Bool?

    public init(format: ExportFormat, dtype: ExportDType = .f32, padUniform: Bool = false, output: String, threads: Int? = nil,
                stream: Bool? = nil) {
        self.format = format; self.dtype = dtype; self.padUniform = padUniform; self.output = output; self.threads = threads
        self.stream = stream
    }

    enum CodingKeys: String, CodingKey { case format, dtype, padUniform = "pad_uniform", output, threads, stream }

    /// Settings the target format cannot honour, before anything is loaded.
    public func validate() throws {
        if format == .hf, dtype.safetensorsDType == nil { throw ExportError.dtypeNotAvailable(dtype, format: .hf) }
        if format == .gguf, padUniform { throw ExportSettingError.padUniformForGGUF }
        if output.isEmpty { throw ExportSettingError.emptyOutput }
        if stream == true && (format != .hf || padUniform) { throw ExportSettingError.streamNeedsHF }
    }
}

/// What `export` wrote.
public struct ExportResult: Codable, Sendable, Equatable {
    public var output: String
    public var format: ExportFormat
    public var dtype: ExportDType
    /// GGUF: llama, qwen2 or deci. HF: the config's model_type.
    public var architecture: String
    public var bytes: Int
    public var files: [String]
    public var tensors: Int
    public var tensorsByType: [String: Int]
    public var fallbackTensors: [String]
    /// GGUF layers whose MLP was written wider with zero channels (whole quantization blocks, or deci's no-empty-MLP rule).
    public var paddedMLPLayers: [Int]
    public var padded: Bool
    public var tokenizer: Bool
    /// Plain statements a user should read (padding buys no speed, fallbacks, …).
    public var notes: [String]

    enum CodingKeys: String, CodingKey {
        case output, format, dtype, architecture, bytes, files, tensors, tensorsByType = "tensors_by_type"
        case fallbackTensors = "fallback_tensors", paddedMLPLayers = "padded_mlp_layers"
        case padded, tokenizer, notes
    }
}

/// `secateur export`: a model (pruned or not) as a GGUF file for llama.cpp or a Hugging Face
/// directory for transformers (DESIGN.md §9).
public struct ExportRun {
    public var settings: ExportSettings
    public init(settings: ExportSettings) { self.settings = settings }

    public func run(modelSpec: String) throws -> RunRecord {
        try settings.validate()
        var context = RunContext(threads: settings.threads)
        return try withEngineThreads(context.threads) {
            let (loaded, identity) = try context.load(modelSpec, streamBlocks: settings.stream == true)
            let result = try context.clock.measure("export") { try export(loaded) }
            var s = settings
            s.threads = context.threads
            return context.record(model: identity, settings: .export(s), result: .export(result))
        }
    }

    /// Exports an already loaded model.
    public func export(_ loaded: LoadedModel) throws -> ExportResult {
        try settings.validate()
        _ = try loaded.model.useSparseFormat(.dense)
        let tokenizer = try ExportRun.tokenizer(of: loaded)
        let pruning = ExportRun.pruningRecord(of: loaded.location)
        let fm = FileManager.default
        switch settings.format {
        case .gguf:
            let description = pruning.map { "Pruned with Secateur (\($0.command)): \($0.summary)" }
            var (writer, summary) = try GGUFExport.writer(for: loaded.model, dtype: settings.dtype, tokenizer: tokenizer,
                                                          name: ExportRun.displayName(loaded), description: description)
            if let pruning { writer.add("secateur.pruning", .string(pruning.json)) }
            writer.add("secateur.version", .string(SecateurVersion.string))
            let dir = (settings.output as NSString).deletingLastPathComponent
            if !dir.isEmpty { try? fm.createDirectory(atPath: dir, withIntermediateDirectories: true) }
            try writer.write(to: settings.output)
            let bytes = (try? fm.attributesOfItem(atPath: settings.output)[.size] as? Int) ?? 0
            var notes: [String] = []
            if summary.architecture == "deci" {
                notes.append("per-layer widths written as llama.cpp's deci architecture")
            }
            if !summary.fallbackTensors.isEmpty {
                notes.append("\(summary.fallbackTensors.count) matrices kept as f16: their rows are not whole \(settings.dtype.rawValue) blocks")
            }
            if !summary.paddedMLPLayers.isEmpty {
                notes.append("MLP widths of \(summary.paddedMLPLayers.count) layers padded with zero channels (to multiples of \(GGUFExport.mlpAlignment) below f32, for whole quantization blocks and llama.cpp's fast kernels; or to one channel where none was left, since llama.cpp's deci drops a layer with feed_forward_length 0); same function")
            }
            return ExportResult(output: settings.output, format: .gguf, dtype: settings.dtype, architecture: summary.architecture,
                                bytes: bytes, files: [(settings.output as NSString).lastPathComponent], tensors: summary.tensorCount,
                                tensorsByType: summary.tensorsByType, fallbackTensors: summary.fallbackTensors,
                                paddedMLPLayers: summary.paddedMLPLayers, padded: false, tokenizer: true, notes: notes)
        case .hf:
            let summary: HFExport.Summary
            // Built out of sight, the source's pruning record included, and renamed into place whole.
            let staged = try StagedDirectory(target: settings.output)
            do {
                if let blocks = loaded.residency {
                    // Streamed: each block read, written as its own shard, released.
                    (_, summary) = try HFExport.writeStreamed(loaded.model, dtype: settings.dtype, tokenizer: tokenizer,
                                                              into: staged) { writeBlock in
                        for i in 0..<loaded.model.layerCount {
                            try blocks.load(i)
                            try writeBlock(i)
                            blocks.release(i)
                        }
                    }
                } else {
                    summary = try HFExport.write(loaded.model, dtype: settings.dtype, tokenizer: tokenizer,
                                                 padUniform: settings.padUniform, into: staged)
                }
            } catch ExportError.nonUniformWidths(let s) {
                throw ExportSettingError.nonUniform(summary: s)
            }
            var files = summary.files
            if let src = pruning?.path,
               (try? fm.copyItem(atPath: src, toPath: (staged.path as NSString).appendingPathComponent("pruning.json"))) != nil {
                files.append("pruning.json")
            }
            try staged.commit()
            let bytes = files.reduce(0) { total, name in
                total + ((try? fm.attributesOfItem(atPath: (settings.output as NSString).appendingPathComponent(name))[.size] as? Int) ?? 0)
            }
            var notes: [String] = []
            if summary.padded {
                notes.append("layers of different widths were zero-padded to the widest: same logits, no speed-up (export GGUF for a model that runs smaller)")
            }
            let config = loaded.model.huggingFaceConfig()
            return ExportResult(output: settings.output, format: .hf, dtype: settings.dtype,
                                architecture: config["model_type"] as? String ?? loaded.model.architecture,
                                bytes: bytes, files: files, tensors: summary.tensorCount,
                                tensorsByType: [settings.dtype.rawValue: summary.tensorCount], fallbackTensors: [],
                                paddedMLPLayers: [], padded: summary.padded, tokenizer: summary.tokenizerWritten, notes: notes)
        }
    }

    /// The source's tokenizer and where its files or metadata are.
    static func tokenizer(of loaded: LoadedModel) throws -> ExportTokenizer {
        var t = ExportTokenizer(tokenizer: loaded.tokenizer)
        switch loaded.location {
        case .gguf(let url):
            let keys = try GGUFFile(path: url.path).tokenizerMetadata
            t.ggufMetadata = keys
            t.chatTemplate = keys.first { $0.0 == "tokenizer.chat_template" }?.1.string
        case .huggingFaceDirectory(let dir):
            let fm = FileManager.default
            if fm.fileExists(atPath: dir.appendingPathComponent("tokenizer.json").path)
                || fm.fileExists(atPath: dir.appendingPathComponent("vocab.json").path) {
                t.huggingFaceDirectory = dir
                if let data = fm.contents(atPath: dir.appendingPathComponent("tokenizer_config.json").path),
                   let obj = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] {
                    t.chatTemplate = obj["chat_template"] as? String
                }
            } else {
                let gguf = dir.appendingPathComponent(ModelWriter.ggufTokenizerFile)
                if fm.fileExists(atPath: gguf.path) {
                    let keys = try GGUFFile(path: gguf.path).tokenizerMetadata
                    t.ggufMetadata = keys
                    t.chatTemplate = keys.first { $0.0 == "tokenizer.chat_template" }?.1.string
                }
            }
        }
        return t
    }

    /// The pruning record a Secateur-written directory carries (pruning.json), summarized.
    static func pruningRecord(of location: ModelLocation) -> (path: String, command: String, summary: String, json: String)? {
        guard case .huggingFaceDirectory(let dir) = location else { return nil }
        let path = dir.appendingPathComponent("pruning.json").path
        guard let data = FileManager.default.contents(atPath: path),
              let obj = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else { return nil }
        let command = obj["command"] as? String ?? "prune"
        let settings = obj["settings"] as? [String: Any] ?? [:]
        let keys = ["method", "pattern", "sparsity", "mode", "ratio", "importance", "layers"]
        let summary = keys.compactMap { k in settings[k].map { "\(k) \($0)" } }.joined(separator: ", ")
        let compact = (try? JSONSerialization.data(withJSONObject: ["command": command, "settings": settings], options: [.sortedKeys]))
            .flatMap { String(data: $0, encoding: .utf8) } ?? "{}"
        return (path, command, summary.isEmpty ? "see secateur.pruning" : summary, compact)
    }

    static func displayName(_ loaded: LoadedModel) -> String {
        switch loaded.location {
        case .gguf(let url): return url.deletingPathExtension().lastPathComponent
        case .huggingFaceDirectory(let dir): return dir.lastPathComponent
        }
    }
}
