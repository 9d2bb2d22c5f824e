import Foundation

/// JSON-lines files (one object per line), with 1-based line numbers for error messages.
public enum JSONLines {
    /// Objects with their line numbers; blank lines are skipped, a malformed line is an error
    /// naming file and line.
    public static func numberedObjects(_ url: URL, limit: Int? = nil) throws -> [(line: Int, object: [String: Any])] {
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw DatasetError.unreadable(file: url.path, reason: (error as NSError).localizedDescription)
        }
        var out: [(line: Int, object: [String: Any])] = []
        var lineNo = 0
        for line in data.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false) {
            lineNo += 1
            if let limit, out.count >= limit { break }
            if line.allSatisfy({ $0 == 32 || $0 == 13 || $0 == 9 }) { continue }
            guard let obj = try? JSONSerialization.jsonObject(with: Data(line)) as? [String: Any] else {
                throw DatasetError.malformedLine(file: url.path, line: lineNo, why: "not a JSON object")
            }
            out.append((lineNo, obj))
        }
        return out
    }

    public static func objects(_ url: URL, limit: Int? = nil) throws -> [[String: Any]] {
        try numberedObjects(url, limit: limit).map(\.object)
    }

    /// One string field from each line.
    public static func texts(_ url: URL, field: String, limit: Int? = nil) throws -> [String] {
        try numberedObjects(url, limit: limit).map { entry in
            guard let s = entry.object[field] as? String else {
                throw DatasetError.malformedLine(file: url.path, line: entry.line, why: "no string field '\(field)'")
            }
            return s
        }
    }
}
