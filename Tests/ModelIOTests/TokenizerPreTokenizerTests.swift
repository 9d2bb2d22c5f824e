import Foundation
import XCTest
@testable import ModelIO

/// The hand-written regex matchers and Unicode classes against HF tokenizers (Oniguruma).
final class TokenizerPreTokenizerTests: XCTestCase {
    func testSplitsMatchHF() throws {
        let items = try TokenizerFixtures.json("pretokenizer_splits.json") as! [[String: Any]]
        for item in items {
            let text = item["text"] as! String
            let sc = scalars(of: text)
            for (name, pattern) in [("gpt2", SplitPattern.gpt2), ("llama3", SplitPattern.llama3), ("qwen2", SplitPattern.qwen2)] {
                let want = item[name] as! [String]
                let got = SplitBehavior.isolated.apply(pattern.matches(in: sc[...]), in: sc[...])
                    .map { string(from: sc[$0]) }
                XCTAssertEqual(got, want, "\(name) split of \(text.debugDescription.prefix(60))")
            }
        }
    }

    /// GPT-4o's pattern has no hand-written matcher and runs on NSRegularExpression (ICU).
    func testNSRegularExpressionFallbackOnGPT4oPattern() throws {
        let pattern = try SplitPattern.fromRegex(SplitPattern.gpt4oSource)
        guard case .regex = pattern else { return XCTFail("expected the NSRegularExpression fallback") }
        let items = try TokenizerFixtures.json("pretokenizer_splits.json") as! [[String: Any]]
        var differ: [String] = []
        for item in items {
            let text = item["text"] as! String
            let sc = scalars(of: text)
            let got = SplitBehavior.isolated.apply(pattern.matches(in: sc[...]), in: sc[...]).map { string(from: sc[$0]) }
            if got != item["gpt4o"] as! [String] { differ.append(text.debugDescription) }
        }
        if !differ.isEmpty { print("[tokenizer] NSRegularExpression GPT-4o split differs from HF on \(differ.count)/\(items.count): \(differ.prefix(10))") }
        XCTAssertLessThanOrEqual(differ.count, 10)
    }

    func testRegexSourcesAreRecognised() throws {
        guard case .gpt2 = try SplitPattern.fromRegex(SplitPattern.gpt2Source) else { return XCTFail() }
        guard case .llama3 = try SplitPattern.fromRegex(SplitPattern.llama3Source) else { return XCTFail() }
        guard case .qwen2 = try SplitPattern.fromRegex(SplitPattern.qwen2Source) else { return XCTFail() }
        // Unknown patterns fall back to NSRegularExpression.
        let p = try SplitPattern.fromRegex(#"\p{N}{1,3}"#)
        let sc = scalars(of: "a12345b")
        XCTAssertEqual(p.matches(in: sc[...]), [1..<4, 4..<6])
    }

    func testUnicodeClassesMatchOniguruma() throws {
        let obj = try TokenizerFixtures.json("unicode_classes.json") as! [String: Any]
        let runs = obj["runs"] as! [[Any]]
        var mismatches: [String] = []
        for run in runs {
            let first = (run[0] as! NSNumber).uint32Value, last = (run[1] as! NSNumber).uint32Value
            let cls = run[2] as! String
            for v in first...last {
                let c = ScalarClass.of(v)
                let mine: String
                if c & ScalarClass.whitespace != 0 { mine = "S" }
                else if c & ScalarClass.letter != 0 { mine = "L" }
                else if c & ScalarClass.number != 0 { mine = "N" }
                else { mine = "P" }
                if mine != cls { mismatches.append(String(format: "U+%04X %@ (HF %@)", v, mine, cls)) }
            }
        }
        if !mismatches.isEmpty {
            print("[tokenizer] \(mismatches.count) scalars classed differently from Oniguruma: \(mismatches.prefix(20))")
        }
        // Unicode versions differ between Swift's tables and Oniguruma's: only newly assigned
        // characters may disagree.
        XCTAssertLessThan(mismatches.count, 2000, "\(mismatches.prefix(50))")
    }

    func testByteLevelAlphabet() {
        XCTAssertEqual(ByteLevelAlphabet.byteToScalar[0x20], 0x120)  // space -> Ġ
        XCTAssertEqual(ByteLevelAlphabet.byteToScalar[0x0A], 0x10A)  // \n -> Ċ
        XCTAssertEqual(ByteLevelAlphabet.byteToScalar[0x41], 0x41)
        XCTAssertEqual(Set(ByteLevelAlphabet.byteToScalar).count, 256)
        for b in 0..<256 { XCTAssertEqual(ByteLevelAlphabet.byte(for: ByteLevelAlphabet.byteToScalar[b]), UInt8(b)) }
        XCTAssertEqual(ByteLevelAlphabet.spell(" é"), "ĠÃ©")
    }

    func testBPEMergeOrder() throws {
        // Merges apply by rank, leftmost first on ties, independent of the word's length path.
        let vocab: [String: Int32] = ["a": 0, "b": 1, "aa": 2, "ab": 3, "aab": 4, "aaaa": 5]
        let model = try BPEModel(vocab: vocab, merges: [("a", "a"), ("aa", "b"), ("a", "b"), ("aa", "aa")],
                                 unkToken: nil, fuseUnk: false, byteFallback: false)
        for n in [3, 5, 40] {
            var out: [Int32] = []
            let word = Array(repeating: UInt32(0x61), count: n) + [0x62]
            model.tokenize(word[...], into: &out)
            // Reference: simple quadratic BPE.
            var sym: [String] = word.map { String(Unicode.Scalar($0)!) }
            let ranks = [("a", "a"), ("aa", "b"), ("a", "b"), ("aa", "aa")]
            while true {
                var best = Int.max, at = -1
                for i in 0..<(sym.count - 1) {
                    if let r = ranks.firstIndex(where: { $0 == (sym[i], sym[i + 1]) }), r < best { best = r; at = i }
                }
                if at < 0 { break }
                sym[at] += sym[at + 1]
                sym.remove(at: at + 1)
            }
            XCTAssertEqual(out, sym.map { vocab[$0]! }, "n=\(n)")
        }
    }
}
