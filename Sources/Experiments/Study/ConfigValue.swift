import Foundation
import Yams

/// A study configuration value as written, with where it was written (for errors that point
/// at a line and column). Built from Yams' node tree rather than decoded straight into
/// Codable types, so that unknown keys, duplicated keys and lists that span a grid axis can be
/// told apart before anything is decoded.
///
/// Scalars are resolved as YAML 1.2's core schema does, not YAML 1.1's: `2:4` is the text
/// "2:4" (YAML 1.1 would read a base-60 integer, 124), `on`/`yes` are text; quoted scalars are
/// always text.
indirect enum ConfigValue {
    case null
    case bool(Bool)
    case int(Int)
    case double(Double)
    case string(String)
    case list([Located])
    /// Keys in the order written.
    case map([(key: String, keyAt: ConfigLocation, value: Located)])

    struct Located {
        var value: ConfigValue
        var at: ConfigLocation
    }

    /// Parses YAML text; `file` names it in errors.
    static func parse(_ text: String, file: String) throws -> Located {
        let node: Node?
        do {
            node = try Yams.compose(yaml: text)
        } catch let e as YamlError {
            throw StudyConfigError.yaml(file: file, YAMLProblem(e))
        }
        guard let node else { return Located(value: .map([]), at: ConfigLocation(file: file, line: 1, column: 1)) }
        return try located(node, file: file)
    }

    private static func located(_ node: Node, file: String) throws -> Located {
        let at = ConfigLocation(file: file, line: node.mark?.line ?? 0, column: node.mark?.column ?? 0)
        switch node {
        case .scalar(let s):
            return Located(value: scalar(s), at: at)
        case .sequence(let seq):
            return Located(value: .list(try seq.map { try located($0, file: file) }), at: at)
        case .mapping(let m):
            var entries: [(key: String, keyAt: ConfigLocation, value: Located)] = []
            for (k, v) in m {
                let keyAt = ConfigLocation(file: file, line: k.mark?.line ?? 0, column: k.mark?.column ?? 0)
                guard case .scalar(let ks) = k else { throw StudyConfigError.invalid(keyAt, "a mapping key must be plain text") }
                if entries.contains(where: { $0.key == ks.string }) {
                    throw StudyConfigError.invalid(keyAt, "key '\(ks.string)' appears twice in the same mapping")
                }
                entries.append((ks.string, keyAt, try located(v, file: file)))
            }
            return Located(value: .map(entries), at: at)
        default:
            throw StudyConfigError.invalid(at, "unsupported YAML node (aliases and tags are not used in study files)")
        }
    }

    private static func scalar(_ s: Node.Scalar) -> ConfigValue {
        let t = s.string
        guard s.style == .plain else { return .string(t) }
        switch t {
        case "", "~", "null", "Null", "NULL": return .null
        case "true", "True", "TRUE": return .bool(true)
        case "false", "False", "FALSE": return .bool(false)
        default: break
        }
        if t.range(of: #"^[-+]?[0-9]+$"#, options: .regularExpression) != nil, let i = Int(t) { return .int(i) }
        if t.range(of: #"^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$"#, options: .regularExpression) != nil,
           let d = Double(t) { return .double(d) }
        return .string(t)
    }

    /// The value as a JSON object (for decoding into a settings type).
    var json: Any {
        switch self {
        case .null: return NSNull()
        case .bool(let b): return b
        case .int(let i): return i
        case .double(let d): return d
        case .string(let s): return s
        case .list(let l): return l.map(\.value.json)
        case .map(let m): return Dictionary(m.map { ($0.key, $0.value.value.json) }, uniquingKeysWith: { a, _ in a })
        }
    }

    /// A short name of the kind of value, for "expected a list, found text".
    var kind: String {
        switch self {
        case .null: return "nothing"
        case .bool: return "true/false"
        case .int: return "an integer"
        case .double: return "a number"
        case .string: return "text"
        case .list: return "a list"
        case .map: return "a mapping"
        }
    }
}

/// Where something was written in a study file (1-based line and column).
public struct ConfigLocation: Sendable, Equatable, CustomStringConvertible {
    public var file: String
    public var line: Int
    public var column: Int

    public var description: String { "\(file):\(line):\(column)" }
}

/// A YAML syntax error with its position.
public struct YAMLProblem: Sendable, Equatable, CustomStringConvertible {
    public var line: Int?
    public var column: Int?
    public var problem: String

    init(_ e: YamlError) {
        switch e {
        case let .scanner(context, problem, mark, _), let .parser(context, problem, mark, _),
             let .composer(context, problem, mark, _):
            line = mark.line; column = mark.column
            self.problem = [context?.text, problem].compactMap { $0 }.filter { !$0.isEmpty }.joined(separator: " ")
        case let .reader(problem, offset, _, _):
            self.problem = problem + (offset.map { " at byte \($0)" } ?? "")
        default:
            self.problem = "\(e)"
        }
    }

    public var description: String {
        if let line, let column { return "\(line):\(column): \(problem)" }
        return problem
    }
}
