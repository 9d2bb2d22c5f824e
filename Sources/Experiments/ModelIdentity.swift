import Foundation
import LLM
import ModelIO

/// Which model a run read: enough to tell two runs on different weights apart, and to find
/// the weights again.
public struct ModelIdentity: Codable, Sendable, Equatable {
    /// The model as given (`--model`): a path or an alias.
    public var name: String
    public var architecture: String
    /// "gguf" or "safetensors".
    public var format: String
    /// The resolved file (GGUF) or directory (Hugging Face / Secateur) that was loaded.
    public var sourcePath: String
    /// SHA-256 of the weights as read: of the GGUF file; for a directory, of its `*.safetensors`
    /// files concatenated in name order (config and tokenizer files are not included).
    public var sourceSHA256: String?
    /// The parameters of the model as loaded, before the run changed anything.
    public var paramsTotal: Int
    public var paramsNonzero: Int

    enum CodingKeys: String, CodingKey {
        case name, architecture, format
        case sourcePath = "source_path", sourceSHA256 = "source_sha256"
        case paramsTotal = "params_total", paramsNonzero = "params_nonzero"
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(name, forKey: .name); try c.encode(architecture, forKey: .architecture); try c.encode(format, forKey: .format)
        try c.encode(sourcePath, forKey: .sourcePath); try c.encode(sourceSHA256, forKey: .sourceSHA256)   // null when not hashed
        try c.encode(paramsTotal, forKey: .paramsTotal); try c.encode(paramsNonzero, forKey: .paramsNonzero)
    }

    public init(name: String, architecture: String, format: String, sourcePath: String, sourceSHA256: String?,
                paramsTotal: Int, paramsNonzero: Int) {
        self.name = name; self.architecture = architecture; self.format = format
        self.sourcePath = sourcePath; self.sourceSHA256 = sourceSHA256
        self.paramsTotal = paramsTotal; self.paramsNonzero = paramsNonzero
    }

    /// The identity of a freshly loaded model. Hashing reads every weight byte once more
    /// (about a second per few hundred MB), which is why it is a phase of its own in the record.
    public init(_ loaded: LoadedModel, hash: Bool = true) throws {
        let path: String
        switch loaded.location {
        case .gguf(let url): path = url.path
        case .huggingFaceDirectory(let url): path = url.path
        }
        let total = loaded.model.parameterCount
        self.init(name: loaded.name, architecture: loaded.model.architecture, format: loaded.format,
                  sourcePath: path, sourceSHA256: hash ? try Self.sha256(of: loaded.location) : nil,
                  paramsTotal: total, paramsNonzero: total - loaded.model.zeroParameterCount)
    }

    /// See `sourceSHA256`.
    public static func sha256(of location: ModelLocation) throws -> String {
        switch location {
        case .gguf(let url):
            return try SHA256.hexDigest(ofFile: url)
        case .huggingFaceDirectory(let dir):
            let names = try FileManager.default.contentsOfDirectory(atPath: dir.path)
                .filter { $0.hasSuffix(".safetensors") }.sorted()
            var h = SHA256()
            for n in names { try h.update(file: dir.appendingPathComponent(n)) }
            return h.finalizeHex()
        }
    }
}
