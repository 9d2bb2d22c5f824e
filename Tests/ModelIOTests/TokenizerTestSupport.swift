import Foundation
import XCTest
@testable import ModelIO

/// Paths and loaders shared by the tokenizer tests.
enum TokenizerFixtures {
    static let packageRoot: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let dir = packageRoot.appendingPathComponent("Tests/Fixtures/tokenizer")

    static var dataDir: URL {
        if let env = ProcessInfo.processInfo.environment["SECATEUR_DATA"], !env.isEmpty {
            return URL(fileURLWithPath: env)
        }
        return packageRoot.appendingPathComponent("../shared/data").standardizedFileURL
    }

    static var isCI: Bool { ProcessInfo.processInfo.environment["CI"] == "true" }

    /// A data file, or XCTSkip when it is absent (a failure when CI=true).
    static func dataFile(_ relative: String) throws -> URL {
        let url = dataDir.appendingPathComponent(relative)
        if !FileManager.default.fileExists(atPath: url.path) {
            if isCI { XCTFail("missing data file \(url.path) (CI=true)") }
            throw XCTSkip("data file \(url.path) not found; set SECATEUR_DATA")
        }
        return url
    }

    static func json(_ name: String) throws -> Any {
        let data = try Data(contentsOf: dir.appendingPathComponent(name))
        return try JSONSerialization.jsonObject(with: escapingByteOrderMarks(data))
    }

    static func u16(_ name: String) throws -> [Int32] {
        let data = try Data(contentsOf: dir.appendingPathComponent(name))
        var out = [Int32](repeating: 0, count: data.count / 2)
        data.withUnsafeBytes { raw in
            for i in 0..<out.count {
                out[i] = Int32(UInt16(raw[2 * i]) | UInt16(raw[2 * i + 1]) << 8)
            }
        }
        return out
    }

    static func manifest() throws -> [String: Any] {
        try json("manifest.json") as! [String: Any]
    }

    /// Tokenizer from GGUF metadata stored as JSON by scripts/make_tokenizer_fixtures.py.
    static func ggufTokenizer(_ name: String) throws -> Tokenizer {
        let m = try json(name) as! [String: Any]
        func int(_ k: String) -> Int? { (m[k] as? NSNumber)?.intValue }
        func bool(_ k: String) -> Bool? { (m[k] as? NSNumber)?.boolValue }
        return try Tokenizer(
            ggufModel: m["model"] as! String, pre: m["pre"] as? String,
            tokens: m["tokens"] as! [String],
            tokenTypes: (m["token_type"] as? [NSNumber])?.map { $0.int32Value },
            merges: m["merges"] as? [String],
            scores: (m["scores"] as? [NSNumber])?.map { $0.floatValue },
            bosID: int("bos_token_id"), eosID: int("eos_token_id"), unkID: int("unknown_token_id"),
            padID: int("padding_token_id"), addBOS: bool("add_bos_token"), addEOS: bool("add_eos_token"),
            addSpacePrefix: bool("add_space_prefix"), architecture: m["architecture"] as? String)
    }

    nonisolated(unsafe) private static var smolCache: Tokenizer?
    private static let lock = NSLock()
    static func smollm2() throws -> Tokenizer {
        lock.lock(); defer { lock.unlock() }
        if let t = smolCache { return t }
        let t = try ggufTokenizer("smollm2_gguf_tokenizer.json")
        smolCache = t
        return t
    }

    // MARK: Data texts (same rules as the fixture script)

    /// Lines of a file with their "\n" (Python text-file iteration on LF files).
    static func linesKeepingNewline(_ text: String) -> [String] {
        var out: [String] = []
        var cur = String.UnicodeScalarView()
        for s in text.unicodeScalars {
            cur.append(s)
            if s == "\n" { out.append(String(cur)); cur = String.UnicodeScalarView() }
        }
        if !cur.isEmpty { out.append(String(cur)) }
        return out
    }

    static func isBlank(_ s: String) -> Bool { s.unicodeScalars.allSatisfy { $0.properties.isWhitespace } }

    static func wikitextRows() throws -> [String] {
        let text = try String(contentsOf: try dataFile("wikitext2/wiki.test.raw"), encoding: .utf8)
        return linesKeepingNewline(text).map { isBlank($0) ? "" : $0 }
    }

    static func wikitextText() throws -> String { try wikitextRows().joined(separator: "\n\n") }

    static func ptbText() throws -> String {
        let text = try String(contentsOf: try dataFile("ptb/ptb.test.txt"), encoding: .utf8)
        return linesKeepingNewline(text).map { line -> String in
            let sc = Array(line.unicodeScalars)
            var a = 0, b = sc.count
            while a < b && sc[a].properties.isWhitespace { a += 1 }
            while b > a && sc[b - 1].properties.isWhitespace { b -= 1 }
            return String(String.UnicodeScalarView(sc[a..<b]))
        }.joined(separator: " ")
    }

    static func c4Documents(_ n: Int) throws -> [String] {
        let text = try String(contentsOf: try dataFile("c4/c4-train.00000-of-01024.first1000.jsonl"), encoding: .utf8)
        var docs: [String] = []
        for line in text.split(separator: "\n") where docs.count < n {
            let obj = try JSONSerialization.jsonObject(with: Data(line.utf8)) as! [String: Any]
            docs.append(obj["text"] as! String)
        }
        return docs
    }

    /// XCTAssert equality of id lists, reporting the first difference with context.
    static func assertSameIDs(_ got: [Int32], _ want: [Int32], _ what: String, tokenizer: Tokenizer? = nil,
                              file: StaticString = #filePath, line: UInt = #line) {
        if got == want { return }
        var i = 0
        while i < min(got.count, want.count) && got[i] == want[i] { i += 1 }
        let lo = max(0, i - 5)
        let g = Array(got[lo..<min(got.count, i + 8)])
        let w = Array(want[lo..<min(want.count, i + 8)])
        var msg = "\(what): ids differ at \(i) (got \(got.count) ids, want \(want.count)); got[\(lo)...] \(g) want \(w)"
        if let t = tokenizer {
            msg += "\n  got: \(g.map { t.tokenString($0) ?? "?" })\n want: \(w.map { t.tokenString($0) ?? "?" })"
        }
        XCTFail(msg, file: file, line: line)
    }
}
