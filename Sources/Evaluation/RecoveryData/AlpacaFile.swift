import Foundation

/// One instruction example of an Alpaca-format file.
public struct AlpacaRecord: Equatable, Sendable {
    public var instruction: String
    /// nil when the element has no `input` or it is null.
    public var input: String?
    public var output: String
    public init(instruction: String, input: String? = nil, output: String) {
        self.instruction = instruction; self.input = input; self.output = output
    }

    /// The full training prompt: template, instruction, input, output.
    public var fullPrompt: String { AlpacaPrompt.prompt(instruction: instruction, input: input, output: output) }
    /// The prompt without the output (what is masked when not training on inputs).
    public var userPrompt: String { AlpacaPrompt.prompt(instruction: instruction, input: input) }
}

/// Alpaca-format JSON files (`alpaca_data_cleaned.json`): a JSON array of objects with string
/// `instruction` and `output` and an optional `input` (a string, or null / absent for none).
/// Other keys are ignored. A malformed file is an error naming the element (counting from 0)
/// and the line it starts on.
public enum AlpacaFile {
    public static func records(path: String) throws(RecoveryDataError) -> [AlpacaRecord] {
        try records(data: RecoveryDataFile.contents(path), path: path)
    }

    public static func records(data: Data, path: String) throws(RecoveryDataError) -> [AlpacaRecord] {
        let root: Any
        do {
            root = try JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed])
        } catch {
            let ns = error as NSError
            let why = (ns.userInfo["NSDebugDescription"] as? String) ?? ns.localizedDescription
            throw .malformedJSON(path: path, reason: why.replacingOccurrences(of: "\n", with: " "))
        }
        guard let array = root as? [Any] else {
            throw .notAnArray(path: path, found: root is [String: Any] ? "an object" : "a single value")
        }
        var lines: [Int]? = nil
        func line(_ i: Int) -> Int? {
            if lines == nil { lines = elementLines([UInt8](data)) }
            return i < lines!.count ? lines![i] : nil
        }
        var out: [AlpacaRecord] = []
        out.reserveCapacity(array.count)
        for (i, element) in array.enumerated() {
            guard let obj = element as? [String: Any] else {
                throw .malformedElement(path: path, index: i, line: line(i), reason: "is not an object")
            }
            func string(_ key: String, optional: Bool) throws(RecoveryDataError) -> String? {
                guard let v = obj[key] else {
                    if optional { return nil }
                    throw .malformedElement(path: path, index: i, line: line(i), reason: "has no \"\(key)\"")
                }
                if optional && v is NSNull { return nil }
                guard let s = v as? String else {
                    throw .malformedElement(path: path, index: i, line: line(i),
                                            reason: "has a non-string \"\(key)\" (\(jsonKind(v)))")
                }
                return s
            }
            let instruction = try string("instruction", optional: false)!
            let input = try string("input", optional: true)
            let output = try string("output", optional: false)!
            out.append(AlpacaRecord(instruction: instruction, input: input, output: output))
        }
        return out
    }

    private static func jsonKind(_ v: Any) -> String {
        switch v {
        case is NSNull: return "null"
        case is [Any]: return "an array"
        case is [String: Any]: return "an object"
        case is Bool: return "a boolean"
        case is NSNumber: return "a number"
        default: return "\(type(of: v))"
        }
    }

    /// The 1-based line on which each element of the top-level array starts (the file is known
    /// to be valid JSON).
    static func elementLines(_ bytes: [UInt8]) -> [Int] {
        var out: [Int] = []
        var line = 1, depth = 0
        var inString = false, escaped = false, expecting = false
        for b in bytes {
            if b == 0x0A { line += 1 }
            if inString {
                if escaped { escaped = false } else if b == UInt8(ascii: "\\") { escaped = true } else if b == UInt8(ascii: "\"") { inString = false }
                continue
            }
            switch b {
            case 0x20, 0x09, 0x0A, 0x0D:
                continue
            case UInt8(ascii: "["), UInt8(ascii: "{"):
                if depth == 1 && expecting { out.append(line); expecting = false }
                depth += 1
                if depth == 1 { expecting = true }
            case UInt8(ascii: "]"), UInt8(ascii: "}"):
                depth -= 1
            case UInt8(ascii: ","):
                if depth == 1 { expecting = true }
            default:
                if b == UInt8(ascii: "\"") { inString = true }
                if depth == 1 && expecting { out.append(line); expecting = false }
            }
        }
        return out
    }
}
