import XCTest
@testable import Compute

/// Cholesky (LAPACK) against a naive float64 implementation.
final class CholeskyTests: XCTestCase {
    func randomSPD(_ n: Int, seed: UInt64) -> [Float] {
        var g = SeededRNG(seed: seed)
        var x = [Double](repeating: 0, count: 2 * n * n)
        for i in 0..<x.count { x[i] = Double(g.nextGaussian()) }
        var a = [Float](repeating: 0, count: n * n)
        let k = 2 * n
        for i in 0..<n { for j in 0..<n {
            var s = 0.0
            for t in 0..<k { s += x[t * n + i] * x[t * n + j] }
            a[i * n + j] = Float(s / Double(k)) + (i == j ? 0.1 : 0)
        } }
        return a
    }

    func naiveLower(_ a: [Float], _ n: Int) -> [Double] {
        var l = [Double](repeating: 0, count: n * n)
        for j in 0..<n {
            var s = Double(a[j * n + j])
            for k in 0..<j { s -= l[j * n + k] * l[j * n + k] }
            l[j * n + j] = s.squareRoot()
            for i in (j + 1)..<max(j + 1, n) {
                var t = Double(a[i * n + j])
                for k in 0..<j { t -= l[i * n + k] * l[j * n + k] }
                l[i * n + j] = t / l[j * n + j]
            }
        }
        return l
    }

    func naiveInverse(_ a: [Float], _ n: Int) -> [Double] {
        // Gauss-Jordan in float64.
        var m = a.map(Double.init)
        var inv = [Double](repeating: 0, count: n * n)
        for i in 0..<n { inv[i * n + i] = 1 }
        for c in 0..<n {
            let p = m[c * n + c]
            for j in 0..<n { m[c * n + j] /= p; inv[c * n + j] /= p }
            for r in 0..<n where r != c {
                let f = m[r * n + c]
                if f == 0 { continue }
                for j in 0..<n { m[r * n + j] -= f * m[c * n + j]; inv[r * n + j] -= f * inv[c * n + j] }
            }
        }
        return inv
    }

    func maxRel(_ a: [Float], _ b: [Double]) -> Double {
        let scale = b.map { abs($0) }.max() ?? 1
        return zip(a, b).map { abs(Double($0) - $1) }.max()! / scale
    }

    func testFactorLowerAndUpper() throws {
        for n in [1, 5, 37, 130] {
            let a = randomSPD(n, seed: UInt64(n))
            var l = a
            try Cholesky.factor(&l, n: n, upper: false)
            let ref = naiveLower(a, n)
            XCTAssertLessThan(maxRel(l, ref), 1e-5, "lower n=\(n)")
            var u = a
            try Cholesky.factor(&u, n: n, upper: true)
            // U = Lᵀ
            var refU = [Double](repeating: 0, count: n * n)
            for i in 0..<n { for j in 0..<n { refU[i * n + j] = ref[j * n + i] } }
            XCTAssertLessThan(maxRel(u, refU), 1e-5, "upper n=\(n)")
        }
    }

    func testInverseAndUpperFactorOfInverse() throws {
        for n in [3, 64, 129] {
            let a = randomSPD(n, seed: 100 + UInt64(n))
            let inv = try Cholesky.inverse(a, n: n)
            let ref = naiveInverse(a, n)
            XCTAssertLessThan(maxRel(inv, ref), 1e-4, "inverse n=\(n)")
            for i in 0..<n { for j in 0..<n { XCTAssertEqual(inv[i * n + j], inv[j * n + i]) } }
            // U upper with UᵀU = A⁻¹.
            let u = try Cholesky.upperFactorOfInverse(a, n: n)
            var utu = [Double](repeating: 0, count: n * n)
            for i in 0..<n { for j in 0..<n {
                XCTAssert(j >= i || u[i * n + j] == 0)
                var s = 0.0
                for k in 0..<n { s += Double(u[k * n + i]) * Double(u[k * n + j]) }
                utu[i * n + j] = s
            } }
            XCTAssertLessThan(zip(utu, ref).map { abs($0 - $1) }.max()! / ref.map { abs($0) }.max()!, 1e-4)
        }
    }

    func testNotPositiveDefiniteAndNonFinite() {
        var a: [Float] = [1, 2, 2, 1]
        XCTAssertThrowsError(try Cholesky.factor(&a, n: 2, upper: false)) { e in
            XCTAssertEqual(e as? Cholesky.Failure, .notPositiveDefinite(order: 2))
        }
        XCTAssertThrowsError(try Cholesky.upperFactorOfInverse([1, .nan, .nan, 1], n: 2)) { e in
            XCTAssertEqual(e as? Cholesky.Failure, .nonFinite)
        }
    }
}
