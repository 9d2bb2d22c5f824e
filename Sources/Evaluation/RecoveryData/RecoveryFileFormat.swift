import Foundation

/// The format of a user's recovery data file.
///
/// Told by extension, then content (`detect`):
/// - `.txt` → `text`; `.jsonl` → `jsonLines`;
/// - `.json` → `alpaca` (a JSON array), except a file whose first line alone is a JSON object,
///   which is JSON lines (C4's shards are named `.json`);
/// - any other extension: first non-blank character `[` → `alpaca`, `{` → `jsonLines`, else `text`.
public enum RecoveryFileFormat: String, CaseIterable, Codable, Sendable {
    /// The whole file is one document.
    case text
    /// One JSON object per line; each line's string field `text` is one document.
    case jsonLines = "jsonl"
    /// A JSON array of objects with `instruction`, optional `input`, and `output`.
    case alpaca

    public static func detect(path: String, contents: Data) -> RecoveryFileFormat {
        let ext = URL(fileURLWithPath: path).pathExtension.lowercased()
        if ext == "txt" { return .text }
        if ext == "jsonl" { return .jsonLines }
        let first = contents.first { !($0 == 0x20 || $0 == 0x09 || $0 == 0x0A || $0 == 0x0D || $0 == 0xEF || $0 == 0xBB || $0 == 0xBF) }
        if ext == "json" {
            if first == UInt8(ascii: "{") {
                let firstLine = contents.prefix { $0 != 0x0A }
                if (try? JSONSerialization.jsonObject(with: Data(firstLine))) is [String: Any] { return .jsonLines }
            }
            return .alpaca
        }
        switch first {
        case UInt8(ascii: "["): return .alpaca
        case UInt8(ascii: "{"): return .jsonLines
        default: return .text
        }
    }
}
