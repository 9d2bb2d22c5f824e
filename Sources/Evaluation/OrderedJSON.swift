import Foundation

/// A JSON value whose objects keep their keys in file order, each value knowing the line it
/// starts on. Foundation's JSONSerialization returns unordered dictionaries, but some data files
/// carry meaning in key order: TruthfulQA's `mc_task.json` lists each question's answers as the
/// keys of an object, and HF's `truthful_qa` loader turns them into `choices` in that order
/// (`list(obj.keys())`), which lm-eval's `doc_to_target: 0` relies on.
public indirect enum OrderedJSON: Equatable, Sendable {
    case object([(key: String, value: OrderedJSON)], line: Int)
    case array([OrderedJSON], line: Int)
    case string(String, line: Int)
    case number(Double, line: Int)
    case bool(Bool, line: Int)
    case null(line: Int)

    /// The 1-based line the value starts on.
    public var line: Int {
        switch self {
        case .object(_, let l), .array(_, let l), .string(_, let l), .number(_, let l), .bool(_, let l), .null(let l): return l
        }
    }

    public static func == (a: OrderedJSON, b: OrderedJSON) -> Bool {
        switch (a, b) {
        case let (.object(x, _), .object(y, _)): return x.count == y.count && zip(x, y).allSatisfy { $0.key == $1.key && $0.value == $1.value }
        case let (.array(x, _), .array(y, _)): return x == y
        case let (.string(x, _), .string(y, _)): return x == y
        case let (.number(x, _), .number(y, _)): return x == y
        case let (.bool(x, _), .bool(y, _)): return x == y
        case (.null, .null): return true
        default: return false
        }
    }

    /// Parses one JSON document (RFC 8259). `file` only names the source in errors, which are
    /// `DatasetError.malformedLine` with the line of the offending character.
    public static func parse(_ data: Data, file: String) throws -> OrderedJSON {
        var reader = Reader(bytes: [UInt8](data), file: file)
        reader.skipSpace()
        let value = try reader.value(depth: 0)
        reader.skipSpace()
        guard reader.i == reader.bytes.count else { throw reader.error("unexpected text after the JSON value") }
        return value
    }

    struct Reader {
        let bytes: [UInt8]
        let file: String
        var i = 0
        var line = 1

        init(bytes: [UInt8], file: String) { self.bytes = bytes; self.file = file }

        func error(_ why: String) -> DatasetError { .malformedLine(file: file, line: line, why: why) }

        mutating func skipSpace() {
            while i < bytes.count {
                switch bytes[i] {
                case 0x0A: line += 1; i += 1
                case 0x20, 0x09, 0x0D: i += 1
                default: return
                }
            }
        }

        mutating func expect(_ byte: UInt8) throws {
            guard i < bytes.count, bytes[i] == byte else { throw error("expected '\(Character(Unicode.Scalar(byte)))'") }
            i += 1
        }

        mutating func value(depth: Int) throws -> OrderedJSON {
            guard depth < 512 else { throw error("JSON nested too deeply") }
            guard i < bytes.count else { throw error("unexpected end of file") }
            let start = line
            switch bytes[i] {
            case UInt8(ascii: "{"):
                i += 1
                var members: [(key: String, value: OrderedJSON)] = []
                skipSpace()
                if i < bytes.count, bytes[i] == UInt8(ascii: "}") { i += 1; return .object(members, line: start) }
                while true {
                    skipSpace()
                    guard i < bytes.count, bytes[i] == UInt8(ascii: "\"") else { throw error("expected a string key") }
                    let key = try string()
                    skipSpace(); try expect(UInt8(ascii: ":")); skipSpace()
                    members.append((key, try value(depth: depth + 1)))
                    skipSpace()
                    if i < bytes.count, bytes[i] == UInt8(ascii: ",") { i += 1; continue }
                    try expect(UInt8(ascii: "}"))
                    return .object(members, line: start)
                }
            case UInt8(ascii: "["):
                i += 1
                var items: [OrderedJSON] = []
                skipSpace()
                if i < bytes.count, bytes[i] == UInt8(ascii: "]") { i += 1; return .array(items, line: start) }
                while true {
                    skipSpace()
                    items.append(try value(depth: depth + 1))
                    skipSpace()
                    if i < bytes.count, bytes[i] == UInt8(ascii: ",") { i += 1; continue }
                    try expect(UInt8(ascii: "]"))
                    return .array(items, line: start)
                }
            case UInt8(ascii: "\""):
                return .string(try string(), line: start)
            case UInt8(ascii: "t"): try literal("true"); return .bool(true, line: start)
            case UInt8(ascii: "f"): try literal("false"); return .bool(false, line: start)
            case UInt8(ascii: "n"): try literal("null"); return .null(line: start)
            default:
                return .number(try number(), line: start)
            }
        }

        mutating func literal(_ word: String) throws {
            let w = Array(word.utf8)
            guard i + w.count <= bytes.count, Array(bytes[i..<(i + w.count)]) == w else { throw error("invalid literal") }
            i += w.count
        }

        mutating func number() throws -> Double {
            let s = i
            while i < bytes.count, "+-0123456789.eE".utf8.contains(bytes[i]) { i += 1 }
            guard i > s, let text = String(bytes: bytes[s..<i], encoding: .ascii), let v = Double(text) else {
                throw error("invalid JSON value")
            }
            return v
        }

        mutating func hex4() throws -> UInt32 {
            guard i + 4 <= bytes.count, let text = String(bytes: bytes[i..<(i + 4)], encoding: .ascii),
                  let v = UInt32(text, radix: 16) else { throw error("invalid \\u escape") }
            i += 4
            return v
        }

        /// A string literal at `i` (the opening quote), escapes decoded; raw bytes are UTF-8.
        mutating func string() throws -> String {
            i += 1
            var out: [UInt8] = []
            while true {
                guard i < bytes.count else { throw error("unterminated string") }
                let b = bytes[i]
                i += 1
                if b == UInt8(ascii: "\"") { break }
                if b < 0x20 { throw error("control character in a string") }
                guard b == UInt8(ascii: "\\") else { out.append(b); continue }
                guard i < bytes.count else { throw error("unterminated string") }
                let e = bytes[i]
                i += 1
                switch e {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): out.append(e)
                case UInt8(ascii: "b"): out.append(0x08)
                case UInt8(ascii: "f"): out.append(0x0C)
                case UInt8(ascii: "n"): out.append(0x0A)
                case UInt8(ascii: "r"): out.append(0x0D)
                case UInt8(ascii: "t"): out.append(0x09)
                case UInt8(ascii: "u"):
                    var code = try hex4()
                    if (0xD800..<0xDC00).contains(code) {
                        guard i + 2 <= bytes.count, bytes[i] == UInt8(ascii: "\\"), bytes[i + 1] == UInt8(ascii: "u") else {
                            throw error("unpaired surrogate in \\u escape")
                        }
                        i += 2
                        let low = try hex4()
                        guard (0xDC00..<0xE000).contains(low) else { throw error("unpaired surrogate in \\u escape") }
                        code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
                    }
                    guard let scalar = Unicode.Scalar(code) else { throw error("invalid \\u escape") }
                    out += Array(String(Character(scalar)).utf8)
                default: throw error("invalid escape in a string")
                }
            }
            guard let s = String(bytes: out, encoding: .utf8) else { throw error("string is not valid UTF-8") }
            return s
        }
    }
}
