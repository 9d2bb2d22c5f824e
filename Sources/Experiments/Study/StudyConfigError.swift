/// Why a study cannot start: every one of these is raised while the grid is read and planned,
/// before any cell runs, with the place in the file where that applies.
public enum StudyConfigError: Error, CustomStringConvertible, Equatable {
    /// The file is not valid YAML.
    case yaml(file: String, YAMLProblem)
    /// A key the section does not know; `allowed` lists the keys it does.
    case unknownKey(ConfigLocation, key: String, section: String, allowed: [String])
    /// A required key is absent.
    case missingKey(ConfigLocation, key: String, section: String)
    /// A value of the wrong kind or out of range.
    case invalid(ConfigLocation, String)
    /// A cell that cannot run on its model (an unreachable ratio, layers the model lacks, a
    /// missing dataset); `cell` is its label.
    case impossibleCell(cell: String, reason: String)
    /// A dataset some cell reads is not in the data folder.
    case missingData(what: String, reason: String)
    /// No such preset.
    case unknownPreset(String, known: [String])
    case unreadable(path: String, reason: String)

    public var description: String {
        switch self {
        case let .yaml(file, p):
            return "\(file): malformed YAML at line \(p.line.map(String.init) ?? "?"), column \(p.column.map(String.init) ?? "?"): \(p.problem)"
        case let .unknownKey(at, key, section, allowed):
            return "\(at): unknown key '\(key)' in \(section); allowed: \(allowed.joined(separator: ", "))"
        case let .missingKey(at, key, section):
            return "\(at): \(section) needs the key '\(key)'"
        case let .invalid(at, why):
            return "\(at): \(why)"
        case let .impossibleCell(cell, reason):
            return "cell '\(cell)' cannot run: \(reason)"
        case let .missingData(what, reason):
            return "\(what): \(reason)"
        case let .unknownPreset(name, known):
            return "unknown study preset '\(name)'; known presets: \(known.joined(separator: ", "))"
        case let .unreadable(path, reason):
            return "cannot read the study file \(path): \(reason)"
        }
    }
}
