import XCTest
@testable import Compute

/// Kernels against plain double-precision reference loops written out here.
final class KernelTests: XCTestCase {
    func randomArray(_ n: Int, seed: UInt64, scale: Float = 1) -> [Float] {
        var rng = SeededRNG(seed: seed)
        return (0..<n).map { _ in rng.nextGaussian() * scale }
    }

    func testSgemmMatchesNaiveProduct() {
        let m = 7, n = 5, k = 9
        let a = randomArray(m * k, seed: 1), b = randomArray(n * k, seed: 2)
        var c = [Float](repeating: 0, count: m * n)
        BLAS.linear(a, rows: m, inFeatures: k, weight: b, outFeatures: n, into: &c)
        for i in 0..<m { for j in 0..<n {
            var s = 0.0
            for t in 0..<k { s += Double(a[i * k + t]) * Double(b[j * k + t]) }
            XCTAssertEqual(Double(c[i * n + j]), s, accuracy: 1e-4)
        } }
    }

    func testFastExpIsAccurate() {
        var worst: Double = 0
        var x: Float = -80
        while x < 80 {
            let rel = abs(Double(fastExp(x)) - Foundation.exp(Double(x))) / Foundation.exp(Double(x))
            worst = max(worst, rel)
            x += 0.0137
        }
        XCTAssertLessThan(worst, 1e-6)
        XCTAssertLessThan(fastExp(-100), 1e-37)
    }

    func testRMSNorm() {
        let rows = 3, dim = 10
        let x = randomArray(rows * dim, seed: 3), w = randomArray(dim, seed: 4)
        var y = [Float](repeating: 0, count: rows * dim)
        rmsNorm(x, rows: rows, dim: dim, weight: w, eps: 1e-5, into: &y)
        for r in 0..<rows {
            let ms = (0..<dim).map { Double(x[r * dim + $0]) * Double(x[r * dim + $0]) }.reduce(0, +) / Double(dim)
            for i in 0..<dim {
                XCTAssertEqual(Double(y[r * dim + i]), Double(w[i]) * Double(x[r * dim + i]) / (ms + 1e-5).squareRoot(), accuracy: 1e-5)
            }
        }
    }

    /// Causal GQA attention against a direct O(T²) double-precision loop, with a start
    /// position (cached prefix) and a block size that does not divide the length.
    func testCausalAttentionMatchesNaive() {
        let heads = 6, kvHeads = 2, hd = 8, prefix = 5, rows = 11
        let total = prefix + rows
        let q = randomArray(rows * heads * hd, seed: 5)
        let k = randomArray(total * kvHeads * hd, seed: 6), v = randomArray(total * kvHeads * hd, seed: 7)
        var out = [Float](repeating: 0, count: rows * heads * hd)
        causalAttention(q: q, qRows: rows, qStride: heads * hd, startPosition: prefix, keys: k, values: v,
                        kvStride: kvHeads * hd, heads: heads, kvHeads: kvHeads, headDim: hd,
                        out: &out, outStride: heads * hd, blockRows: 4)
        for r in 0..<rows { for h in 0..<heads {
            let g = h / (heads / kvHeads)
            let pos = prefix + r
            var scores = [Double](repeating: 0, count: pos + 1)
            for j in 0...pos {
                var s = 0.0
                for d in 0..<hd { s += Double(q[r * heads * hd + h * hd + d]) * Double(k[j * kvHeads * hd + g * hd + d]) }
                scores[j] = s / Double(hd).squareRoot()
            }
            let m = scores.max()!
            let e = scores.map { Foundation.exp($0 - m) }
            let z = e.reduce(0, +)
            for d in 0..<hd {
                var o = 0.0
                for j in 0...pos { o += e[j] / z * Double(v[j * kvHeads * hd + g * hd + d]) }
                XCTAssertEqual(Double(out[r * heads * hd + h * hd + d]), o, accuracy: 1e-5)
            }
        } }
    }

    /// RoPE in the rotate-half convention: dimension i pairs with i + d/2, angle p·θ^(−2i/d).
    func testRotaryEmbeddingRotatesHalfPairs() {
        let hd = 8, heads = 2, rows = 3, start = 4
        let rope = RotaryEmbedding(headDim: hd, theta: 10000)
        let x = randomArray(rows * heads * hd, seed: 8)
        var y = x
        rope.apply(&y, rows: rows, heads: heads, rowStride: heads * hd, startPosition: start)
        for r in 0..<rows { for h in 0..<heads { for i in 0..<(hd / 2) {
            let angle = Double(start + r) * Foundation.pow(10000.0, -Double(2 * i) / Double(hd))
            let a = Double(x[r * heads * hd + h * hd + i]), b = Double(x[r * heads * hd + h * hd + i + hd / 2])
            XCTAssertEqual(Double(y[r * heads * hd + h * hd + i]), a * Foundation.cos(angle) - b * Foundation.sin(angle), accuracy: 1e-4)
            XCTAssertEqual(Double(y[r * heads * hd + h * hd + i + hd / 2]), b * Foundation.cos(angle) + a * Foundation.sin(angle), accuracy: 1e-4)
        } } }
    }

    func testHalfPrecisionRoundTrip() {
        for v: Float in [0, 1, -2.5, 65504, 6.1035156e-05, 5.9604645e-08, 0.333251953125] {
            XCTAssertEqual(floatFromFloat16Bits(float16Bits(v)), v)
        }
        XCTAssertEqual(floatFromFloat16Bits(0x3C00), 1)
        XCTAssertEqual(floatFromBFloat16Bits(0x3F80), 1)
        XCTAssertEqual(floatFromBFloat16Bits(bfloat16Bits(-3.5)), -3.5)
    }

    func testSeededRNGIsReproducible() {
        var a = SeededRNG(seed: 42), b = SeededRNG(seed: 42), c = SeededRNG(seed: 43)
        let xa = (0..<5).map { _ in a.next() }, xb = (0..<5).map { _ in b.next() }, xc = (0..<5).map { _ in c.next() }
        XCTAssertEqual(xa, xb)
        XCTAssertNotEqual(xa, xc)
    }
}
