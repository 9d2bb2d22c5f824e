import XCTest
import Compute
import LLM
import ModelIO

/// Several sequences packed into one forward (`runLayers(packed:)`) against each sequence run on
/// its own: rows of a sequence that continues a shared prefix must equal the rows of the full
/// sequence prefix + continuation.
final class PackedForwardTests: XCTestCase {
    func model(_ name: String) throws -> LlamaModel {
        try LlamaModel(checkpoint: try HFCheckpoint(directory: TinyModelLogitsTests.fixtures.appendingPathComponent(name).path))
    }

    func tokens(_ n: Int, seed: Int, vocab: Int) -> [Int32] {
        (0..<n).map { Int32(($0 * 31 + seed * 17 + 5) % vocab) }
    }

    func hidden(_ m: LlamaModel, _ t: [Int32]) throws -> [Float] {
        var h = try m.embed(t)
        try m.runLayers(0..<m.layers.count, hidden: &h)
        return h
    }

    func testPackedSequencesEqualSeparateForwards() throws {
        for name in TinyModelLogitsTests.names {
            let m = try model(name)
            let v = m.vocabSize, d = m.hiddenSize
            let own = tokens(7, seed: 1, vocab: v)
            let prefix = tokens(9, seed: 2, vocab: v)
            // Continuations of 5 and 1 rows, and one of 150 rows (crosses a 128-row attention block).
            let conts = [tokens(5, seed: 3, vocab: v), tokens(1, seed: 4, vocab: v), tokens(150, seed: 5, vocab: v)]
            let long = tokens(200, seed: 6, vocab: v)

            var packed = own + prefix
            var segments = [AttentionSegment(start: 0, count: own.count), AttentionSegment(start: own.count, count: prefix.count)]
            var contStarts: [Int] = []
            for c in conts {
                contStarts.append(packed.count)
                segments.append(AttentionSegment(start: packed.count, count: c.count, prefixStart: own.count, prefixCount: prefix.count))
                packed += c
            }
            let longStart = packed.count
            segments.append(AttentionSegment(start: longStart, count: long.count))
            packed += long

            var h = try m.embed(packed)
            m.runLayers(packed: &h, segments: segments)

            func assertRows(_ got: ArraySlice<Float>, _ want: ArraySlice<Float>, _ what: String) {
                XCTAssertEqual(got.count, want.count)
                let scale = max(1, want.map { abs($0) }.max() ?? 1)
                let err = zip(got, want).map { abs($0 - $1) }.max() ?? 0
                XCTAssertLessThan(err / scale, 2e-5, "\(name) \(what)")
            }
            assertRows(h[0..<(own.count * d)], try hidden(m, own)[...], "own sequence")
            assertRows(h[(own.count * d)..<((own.count + prefix.count) * d)], try hidden(m, prefix)[...], "prefix")
            for (c, s) in zip(conts, contStarts) {
                let full = try hidden(m, prefix + c)
                assertRows(h[(s * d)..<((s + c.count) * d)], full[(prefix.count * d)...], "continuation of \(c.count)")
            }
            assertRows(h[(longStart * d)...], try hidden(m, long)[...], "200-row sequence")
        }
    }

    /// A statistics pass that stops after a site sees exactly what a full forward shows there.
    func testStopAfterObservesTheSameInputs() throws {
        let m = try model("llama-gqa-tied")
        let x = try m.embed(tokens(12, seed: 7, vocab: m.vocabSize))
        for site in LinearInputSite.allCases {
            var full: [Float] = [], stopped: [Float] = [], seen: [LinearInputSite] = []
            var h1 = x, h2 = x
            try m.runLayers(0..<1, hidden: &h1, observer: { s, p, r, c in
                if s == site { full = Array(UnsafeBufferPointer(start: p, count: r * c)) }
            })
            try m.runLayers(0..<1, hidden: &h2, observer: { s, p, r, c in
                seen.append(s)
                if s == site { stopped = Array(UnsafeBufferPointer(start: p, count: r * c)) }
            }, stopAfter: site)
            XCTAssertEqual(stopped, full, "\(site)")
            XCTAssertEqual(seen.last, site, "nothing is observed after \(site)")
            XCTAssertFalse(full.isEmpty)
        }
    }
}
