import Foundation

/// Where a study comes from: a built-in preset or a YAML file.
public enum StudySource: Sendable {
    case preset(StudyPreset)
    case file(String)

    /// The study's YAML as written (a preset's, to start from).
    public func text() throws -> String {
        switch self {
        case .preset(let p): return p.yaml
        case .file(let path):
            do { return try String(contentsOfFile: path, encoding: .utf8) } catch {
                throw StudyConfigError.unreadable(path: path, reason: (error as NSError).localizedDescription)
            }
        }
    }

    public func config() throws -> StudyConfig {
        switch self {
        case .preset(let p): return try p.config
        case .file(let path): return try StudyConfig.parse(try text(), file: path)
        }
    }

    /// The arguments that name this study to `secateur study run` (an absolute path for a file).
    var arguments: [String] {
        switch self {
        case .preset(let p): return ["--preset", p.rawValue]
        case .file(let path): return [URL(fileURLWithPath: path).standardizedFileURL.path]
        }
    }
}

extension StudyConfig {
    /// Where a study's report goes unless told: `report-<name>`.
    public var defaultReportDirectory: String { "report-\(name)" }
    /// Where `--slurm` writes the script, records and logs unless told: `slurm-<name>`.
    public var defaultSlurmDirectory: String { "slurm-\(name)" }
}
