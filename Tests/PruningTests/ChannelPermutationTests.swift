import XCTest
import Compute
import ModelIO
@testable import Pruning

/// RIA channel permutation for N:M: a valid permutation, never worse than the identity,
/// deterministic, and clearly better on matrices with outlier columns.
final class ChannelPermutationTests: XCTestCase {
    func randomScores(rows: Int, cols: Int, seed: UInt64, outliers: [Int] = []) -> [Float] {
        var g = SeededRNG(seed: seed)
        var s = (0..<(rows * cols)).map { _ in abs(g.nextGaussian()) }
        for c in outliers { for r in 0..<rows { s[r * cols + c] *= 10 } }
        return s
    }

    func check(rows: Int, cols: Int, n: Int, m: Int, seed: UInt64, outliers: [Int] = [],
               expectGain: Double? = nil) throws {
        let s = randomScores(rows: rows, cols: cols, seed: seed, outliers: outliers)
        let p = try ChannelPermutation.compute(scores: s, rows: rows, cols: cols, n: n, m: m)
        XCTAssertEqual(p.sorted(), Array(0..<cols), "a permutation")
        let base = ChannelPermutation.keptScore(scores: s, rows: rows, cols: cols, n: n, m: m, permutation: nil)
        let kept = ChannelPermutation.keptScore(scores: s, rows: rows, cols: cols, n: n, m: m, permutation: p)
        XCTAssertGreaterThanOrEqual(kept, base)
        if let gain = expectGain { XCTAssertGreaterThan(kept, base * (1 + gain), "\(kept) vs \(base)") }
        // Deterministic.
        XCTAssertEqual(try ChannelPermutation.compute(scores: s, rows: rows, cols: cols, n: n, m: m), p)
        // The mask in original order is N:M over the permuted order and keeps exactly `kept`.
        let mask = ChannelPermutation.mask(scores: s, rows: rows, cols: cols, n: n, m: m, permutation: p)
        var keptByMask = 0.0
        for r in 0..<rows {
            for g0 in stride(from: 0, to: cols, by: m) {
                let k = (g0..<(g0 + m)).filter { mask[r * cols + p[$0]] }.count
                if k != n { XCTFail("row \(r) group \(g0): \(k) pruned") }
            }
            for c in 0..<cols where !mask[r * cols + c] { keptByMask += Double(s[r * cols + c]) }
        }
        XCTAssertEqual(keptByMask, kept, accuracy: 1e-6 * kept)
        print("channel permutation \(rows)×\(cols) \(n):\(m) outliers \(outliers.count): kept \(base) → \(kept) (+\(String(format: "%.3f", 100 * (kept / base - 1))) %)")
    }

    func testRandomMatrices() throws {
        try check(rows: 16, cols: 64, n: 2, m: 4, seed: 1)
        try check(rows: 32, cols: 128, n: 2, m: 4, seed: 2)
        try check(rows: 8, cols: 64, n: 4, m: 8, seed: 3)
        try check(rows: 1, cols: 16, n: 1, m: 4, seed: 4)
    }

    func testOutlierColumnsGain() throws {
        // Outlier channels sitting in the same groups compete; spreading them keeps more.
        try check(rows: 32, cols: 128, n: 2, m: 4, seed: 9, outliers: [0, 1, 2, 3, 8, 9, 10, 11, 40, 41, 42], expectGain: 0.05)
        try check(rows: 16, cols: 64, n: 4, m: 8, seed: 10, outliers: Array(0..<8), expectGain: 0.05)
    }

    func testHeuristicAllocationIsRIAOrder() {
        // 8 columns with increasing column sums, 2:4: chunks [0..3] ascending and [4..7]
        // descending: group 0 = (0, 7, …) — positions 0,4 from chunk 1 and 1,5 from chunk 2.
        let cols = 8
        let s: [Float] = (0..<cols).map { Float($0 + 1) }
        let idx = ChannelPermutation.heuristicAllocation(scores: s, rows: 1, cols: cols, m: 4)
        // sorted = [0..7]; chunk k (1-based) = sorted[2(k−1) ..< 2k], even k reversed;
        // index[(k−1) + 4g] = chunk[g].
        XCTAssertEqual(idx, [0, 3, 4, 7, 1, 2, 5, 6])
    }

    /// Same column order as a transcription of RIA's prune_ria (--reallocation --lsa).
    func testMatchesRIAReference() throws {
        let f = try SafetensorsFile(path: SparseGPTTests.fixture)
        for (k, (n, m)) in [(2, 4), (4, 8), (2, 4)].enumerated() {
            let shape = f.shape(of: "ria\(k).s")!
            let rows = shape[0], cols = shape[1]
            let s = try f.loadFloat32("ria\(k).s")
            XCTAssertEqual(ChannelPermutation.heuristicAllocation(scores: s, rows: rows, cols: cols, m: m),
                           try f.loadInts("ria\(k).heur"), "ria\(k) heuristic")
            let p = try ChannelPermutation.compute(scores: s, rows: rows, cols: cols, n: n, m: m)
            let ref = try f.loadInts("ria\(k).index")
            XCTAssertEqual(p, ref, "ria\(k) after LSA")
            XCTAssertEqual(ChannelPermutation.keptScore(scores: s, rows: rows, cols: cols, n: n, m: m, permutation: p),
                           ChannelPermutation.keptScore(scores: s, rows: rows, cols: cols, n: n, m: m, permutation: ref), accuracy: 1e-9)
        }
    }

    func testLargerShapeTiming() throws {
        let rows = 576, cols = 1536
        let s = randomScores(rows: rows, cols: cols, seed: 12, outliers: [3, 5, 700])
        let t0 = Date()
        let p = try ChannelPermutation.compute(scores: s, rows: rows, cols: cols, n: 2, m: 4)
        let dt = Date().timeIntervalSince(t0)
        let base = ChannelPermutation.keptScore(scores: s, rows: rows, cols: cols, n: 2, m: 4, permutation: nil)
        let kept = ChannelPermutation.keptScore(scores: s, rows: rows, cols: cols, n: 2, m: 4, permutation: p)
        XCTAssertGreaterThanOrEqual(kept, base)
        print(String(format: "channel permutation %d×%d 2:4: %.2f s, kept +%.3f %%", rows, cols, dt, 100 * (kept / base - 1)))
    }

    func testRejectsBadShapes() {
        XCTAssertThrowsError(try ChannelPermutation.compute(scores: [Float](repeating: 1, count: 10), rows: 1, cols: 10, n: 2, m: 4))
        XCTAssertThrowsError(try ChannelPermutation.compute(scores: [Float](repeating: 1, count: 8), rows: 1, cols: 8, n: 4, m: 4))
    }
}
