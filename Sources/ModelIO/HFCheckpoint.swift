import Foundation
import Compute

/// Errors locating or indexing a Hugging Face model directory.
public enum HFCheckpointError: Error, CustomStringConvertible, Equatable {
    case notADirectory(path: String)
    case missingConfig(directory: String)
    case missingWeights(directory: String, reason: String)
    case invalidIndex(path: String, reason: String)
    case missingShard(directory: String, file: String)
    case tensorMissingFromShard(tensor: String, file: String)
    case duplicateTensor(tensor: String, files: [String])
    case tensorNotFound(directory: String, tensor: String)

    public var description: String {
        switch self {
        case let .notADirectory(path):
            return "\(path) is not a model directory (expected a folder with config.json and model.safetensors)"
        case let .missingConfig(directory):
            return "\(directory): missing config.json (is this a Hugging Face model folder?)"
        case let .missingWeights(directory, reason):
            return "\(directory): no weights found: \(reason)"
        case let .invalidIndex(path, reason):
            return "\(path): invalid safetensors index: \(reason)"
        case let .missingShard(directory, file):
            return "\(directory): weight shard \(file) listed in model.safetensors.index.json is missing (incomplete download?)"
        case let .tensorMissingFromShard(tensor, file):
            return "\(file): tensor '\(tensor)' is listed in model.safetensors.index.json but not in this shard"
        case let .duplicateTensor(tensor, files):
            return "tensor '\(tensor)' appears in more than one shard: \(files.joined(separator: ", "))"
        case let .tensorNotFound(directory, tensor):
            return "\(directory): checkpoint has no tensor '\(tensor)'"
        }
    }
}

/// The weights of a Hugging Face model directory: `model.safetensors`, or shards
/// `model-0000k-of-0000n.safetensors` listed in `model.safetensors.index.json`, whatever the
/// architecture. Tensor names and shapes are as in the files (HF naming, [out, in]).
public final class SafetensorsDirectory: TensorSource, @unchecked Sendable {
    public let directory: String
    public let tensorNames: [String]
    /// Shard files (paths) in name order.
    public let files: [SafetensorsFile]
    private let location: [String: SafetensorsFile]

    public init(directory: String) throws {
        self.directory = directory
        let fm = FileManager.default
        func path(_ name: String) -> String { (directory as NSString).appendingPathComponent(name) }
        var opened: [SafetensorsFile] = []
        var location: [String: SafetensorsFile] = [:]
        if fm.fileExists(atPath: path(HFCheckpoint.indexFileName)) {
            let indexPath = path(HFCheckpoint.indexFileName)
            let weightMap: [String: String]
            do {
                let obj = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: indexPath)))
                guard let map = (obj as? [String: Any])?["weight_map"] as? [String: String] else {
                    throw HFCheckpointError.invalidIndex(path: indexPath, reason: "no 'weight_map' object of tensor name → file name")
                }
                weightMap = map
            } catch let e as HFCheckpointError {
                throw e
            } catch {
                throw HFCheckpointError.invalidIndex(path: indexPath, reason: (error as NSError).localizedDescription.replacingOccurrences(of: "\n", with: " "))
            }
            var byFile: [String: SafetensorsFile] = [:]
            for file in Set(weightMap.values).sorted() {
                guard !file.contains("/"), !file.hasPrefix(".") else {
                    throw HFCheckpointError.invalidIndex(path: indexPath, reason: "shard name '\(file)' is not a plain file name")
                }
                guard fm.fileExists(atPath: path(file)) else { throw HFCheckpointError.missingShard(directory: directory, file: file) }
                let f = try SafetensorsFile(path: path(file))
                byFile[file] = f
                opened.append(f)
            }
            for (tensor, file) in weightMap {
                let f = byFile[file]!
                guard f.tensors[tensor] != nil else { throw HFCheckpointError.tensorMissingFromShard(tensor: tensor, file: f.path) }
                location[tensor] = f
            }
        } else if fm.fileExists(atPath: path(HFCheckpoint.singleFileName)) {
            let f = try SafetensorsFile(path: path(HFCheckpoint.singleFileName))
            opened = [f]
            for name in f.tensorNames { location[name] = f }
        } else {
            let contents = (try? fm.contentsOfDirectory(atPath: directory)) ?? []
            let reason: String
            if contents.contains(where: { $0.hasSuffix(".bin") || $0.hasSuffix(".pt") || $0.hasSuffix(".pth") }) {
                reason = "found only PyTorch pickle weights; convert them to safetensors (model.safetensors)"
            } else if contents.contains(where: { $0.hasSuffix(".safetensors") }) {
                reason = "found .safetensors shards but no \(HFCheckpoint.indexFileName) listing them"
            } else {
                reason = "expected \(HFCheckpoint.singleFileName) or \(HFCheckpoint.indexFileName)"
            }
            throw HFCheckpointError.missingWeights(directory: directory, reason: reason)
        }
        files = opened
        self.location = location
        tensorNames = location.keys.sorted()
    }

    public func shape(of name: String) -> [Int]? { location[name]?.shape(of: name) }

    public func dtype(of name: String) -> SafetensorsDType? { location[name]?.info(name)?.dtype }

    public func loadFloat32(_ name: String) throws -> [Float] {
        guard let f = location[name] else { throw HFCheckpointError.tensorNotFound(directory: directory, tensor: name) }
        return try f.loadFloat32(name)
    }

    public func loadTensor(_ name: String) throws -> Tensor {
        guard let f = location[name] else { throw HFCheckpointError.tensorNotFound(directory: directory, tensor: name) }
        return try f.loadTensor(name)
    }

}

/// A Llama-family Hugging Face model directory: `config.json` (parsed as `ModelConfig`) and
/// its safetensors weights.
public final class HFCheckpoint: CheckpointSource, @unchecked Sendable {
    public let directory: String
    public let config: ModelConfig
    public let weights: SafetensorsDirectory
    public var tensorNames: [String] { weights.tensorNames }
    public var files: [SafetensorsFile] { weights.files }

    public static let configFileName = "config.json"
    public static let singleFileName = "model.safetensors"
    public static let indexFileName = "model.safetensors.index.json"

    public init(directory: String) throws {
        self.directory = directory
        let fm = FileManager.default
        var isDir: ObjCBool = false
        guard fm.fileExists(atPath: directory, isDirectory: &isDir), isDir.boolValue else {
            throw HFCheckpointError.notADirectory(path: directory)
        }
        let configPath = (directory as NSString).appendingPathComponent(Self.configFileName)
        guard fm.fileExists(atPath: configPath) else { throw HFCheckpointError.missingConfig(directory: directory) }
        config = try HFConfig.load(path: configPath)
        weights = try SafetensorsDirectory(directory: directory)
    }

    public func shape(of name: String) -> [Int]? { weights.shape(of: name) }
    public func dtype(of name: String) -> SafetensorsDType? { weights.dtype(of: name) }
    public func loadFloat32(_ name: String) throws -> [Float] { try weights.loadFloat32(name) }
    public func loadTensor(_ name: String) throws -> Tensor { try weights.loadTensor(name) }

    /// Saves a model directory: config.json and a single model.safetensors (metadata
    /// `format: pt`, which transformers requires), each written atomically. Creates the
    /// directory if needed; a stale index from an earlier sharded save is removed.
    public static func save(config: ModelConfig, tensors: [(name: String, tensor: Tensor)],
                            to directory: String, dtype: SafetensorsDType = .f32) throws {
        try save(configJSON: hfConfigJSON(config), tensors: tensors, to: directory, dtype: dtype)
    }

    /// Writes model.safetensors and config.json (any family's config object) to `directory`.
    public static func save(configJSON: [String: Any], tensors: [(name: String, tensor: Tensor)],
                            to directory: String, dtype: SafetensorsDType = .f32) throws {
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw SafetensorsError.writeFailed(path: directory, reason: (error as NSError).localizedDescription)
        }
        var writer = SafetensorsWriter(metadata: ["format": "pt"])
        for (name, t) in tensors { try writer.add(name, t, as: dtype) }
        let dir = directory as NSString
        try writer.write(to: dir.appendingPathComponent(singleFileName))
        try writeFileAtomically(HFConfig.encode(json: configJSON), to: dir.appendingPathComponent(configFileName))
        let index = dir.appendingPathComponent(indexFileName)
        if FileManager.default.fileExists(atPath: index) { try? FileManager.default.removeItem(atPath: index) }
    }
}
