import Foundation
import ModelIO

public enum DatasetError: Error, CustomStringConvertible {
    case missingFile(expected: String, dataDirectory: String, hint: String)
    case unknownDataset(String, supported: [String])
    case malformedLine(file: String, line: Int, why: String)
    case tooFewTokens(dataset: String, tokens: Int, seqlen: Int)
    case notEnoughWindows(dataset: String, requested: Int, available: Int, seqlen: Int)
    case unreadable(file: String, reason: String)

    public var description: String {
        switch self {
        case .missingFile(let f, let d, let hint):
            return "dataset file \(f) not found in data directory \(d) (\(hint)); set the data directory (data_dir) or SECATEUR_DATA"
        case .unknownDataset(let n, let s):
            return "unknown dataset '\(n)'; supported: \(s.joined(separator: ", "))"
        case .malformedLine(let f, let l, let why):
            return "\(f):\(l): \(why)"
        case .tooFewTokens(let d, let t, let s):
            return "\(d) has only \(t) tokens, less than one window of \(s)"
        case .notEnoughWindows(let d, let r, let a, let s):
            return "windows \(r) is more than the \(a) windows of \(s) tokens that \(d) provides"
        case .unreadable(let f, let why):
            return "cannot read dataset file \(f): \(why)"
        }
    }
}

/// Where datasets are read from: --data-dir, else $SECATEUR_DATA, else $SECATEUR_HOME/data
/// (DESIGN.md §2). Files keep their original formats; readers map them to the fields the
/// reference tools use.
public struct DataDirectory: Sendable {
    public let url: URL

    public init(explicit: String? = nil, environment: [String: String] = ProcessInfo.processInfo.environment) {
        if let explicit {
            url = URL(fileURLWithPath: explicit)
        } else if let env = environment["SECATEUR_DATA"], !env.isEmpty {
            url = URL(fileURLWithPath: env)
        } else {
            url = SecateurHome.url(environment: environment).appendingPathComponent("data")
        }
    }

    /// The file at `relative` path, or a clear error naming it and this directory.
    public func file(_ relative: String, hint: String) throws -> URL {
        let f = url.appendingPathComponent(relative)
        guard FileManager.default.fileExists(atPath: f.path) else {
            throw DatasetError.missingFile(expected: relative, dataDirectory: url.path, hint: hint)
        }
        return f
    }

    public func text(_ relative: String, hint: String) throws -> String {
        let f = try file(relative, hint: hint)
        let data: Data
        do {
            data = try Data(contentsOf: f)
        } catch {
            var isDir: ObjCBool = false
            let why = FileManager.default.fileExists(atPath: f.path, isDirectory: &isDir) && isDir.boolValue
                ? "it is a directory" : (error as NSError).localizedDescription.replacingOccurrences(of: "\n", with: " ")
            throw DatasetError.unreadable(file: f.path, reason: why)
        }
        guard let s = String(data: data, encoding: .utf8) else {
            throw DatasetError.malformedLine(file: f.path, line: 0, why: "not valid UTF-8")
        }
        return s
    }
}
