import XCTest
@testable import Compute
import ModelIO

/// The 2:4 / 1:4 decode format: packing keeps every non-zero where it was (groups with fewer
/// non-zeros padded), the kernel with each value encoding equals a double-precision product
/// over the stored values (one token: the phase-select kernel; several: decoded tiles), and
/// a matrix that is not x:4 is refused.
final class Packed24MatrixTests: XCTestCase {
    /// Random x:4 matrix: each group keeps `keep` random positions, some groups fewer (padding).
    func randomNM(rows: Int, columns: Int, keep: Int, seed: UInt64) -> [Float] {
        var rng = SeededRNG(seed: seed)
        var w = [Float](repeating: 0, count: rows * columns)
        for g in stride(from: 0, to: w.count, by: 4) {
            let n = rng.next() % 5 == 0 ? Int(rng.next() % UInt64(keep + 1)) : keep
            var chosen = Set<Int>()
            while chosen.count < n { chosen.insert(Int(rng.next() % 4)) }
            for o in chosen { w[g + o] = rng.nextGaussian() }
        }
        return w
    }

    func pack(_ w: [Float], rows: Int, columns: Int, keep: Int, _ e: BlockEncoding) throws -> Packed24Matrix {
        try w.withUnsafeBufferPointer {
            try Packed24Matrix(dense: $0.baseAddress!, rows: rows, columns: columns, keep: keep, encoding: e) { v, n in
                [UInt8](try GGMLQuantize.encode(v, rowLength: n, as: e.ggmlType))
            }
        }
    }

    func testPackingIsLosslessInFloat32() throws {
        for keep in [1, 2] {
            let w = randomNM(rows: 9, columns: 96, keep: keep, seed: UInt64(keep))
            let m = try pack(w, rows: 9, columns: 96, keep: keep, .f32)
            XCTAssertEqual(m.densified(), w)
            XCTAssertEqual(m.nonzeroCount, w.filter { $0 != 0 }.count)
            XCTAssertEqual(m.bytes, 9 * (96 / 4 * keep * 4 + 96 / 32 * 4))
        }
    }

    func testProductsMatchADoubleReference() throws {
        for keep in [1, 2] {
            for e in [BlockEncoding.f32, .f16, .bf16, .q8_0] {
                for (rows, columns) in [(3, 128), (257, 640)] {
                    let w = randomNM(rows: rows, columns: columns, keep: keep, seed: UInt64(rows * 10 + keep))
                    let m = try pack(w, rows: rows, columns: columns, keep: keep, e)
                    let stored = m.densified()
                    if e == .f32 { XCTAssertEqual(stored, w) }
                    // Every stored non-zero sits where the original one was.
                    for i in stored.indices where stored[i] != 0 { XCTAssertNotEqual(w[i], 0, "\(e) index \(i)") }
                    for tokens in [1, 3] {
                        var rng = SeededRNG(seed: 99)
                        let x = (0..<(tokens * columns)).map { _ in rng.nextGaussian() }
                        for accumulate in [false, true] {
                            let initial = (0..<(tokens * rows)).map { Float($0 % 7) - 3 }
                            var y = accumulate ? initial : [Float](repeating: .nan, count: tokens * rows)
                            x.withUnsafeBufferPointer { xp in
                                y.withUnsafeMutableBufferPointer { m.multiply(xp.baseAddress!, rows: tokens, into: $0.baseAddress!, accumulate: accumulate) }
                            }
                            var worst = 0.0
                            for t in 0..<tokens {
                                for r in 0..<rows {
                                    var s = accumulate ? Double(initial[t * rows + r]) : 0, scale = abs(s)
                                    for c in 0..<columns {
                                        let p = Double(x[t * columns + c]) * Double(stored[r * columns + c])
                                        s += p; scale += abs(p)
                                    }
                                    worst = max(worst, abs(Double(y[t * rows + r]) - s) / max(scale, 1e-6))
                                }
                            }
                            XCTAssertLessThan(worst, 2e-6, "\(keep):4 \(e) \(rows)×\(columns) tokens \(tokens) acc \(accumulate)")
                        }
                    }
                }
            }
        }
    }

    func testNotX4IsRefused() {
        var w = randomNM(rows: 2, columns: 32, keep: 2, seed: 5)
        w[4] = 1; w[5] = 1; w[6] = 1; w[7] = 0
        XCTAssertThrowsError(try pack(w, rows: 2, columns: 32, keep: 2, .f32)) { e in
            XCTAssertEqual(e as? SparseFormatError, .notNM(keep: 2, group: 4, row: 0, column: 4, nonzeros: 3))
        }
        XCTAssertFalse(Packed24Matrix.fits(columns: 40, keep: 2, encoding: .f32))
        XCTAssertFalse(Packed24Matrix.fits(columns: 32, keep: 2, encoding: .q8_0), "16 kept values are half a Q8_0 block")
        XCTAssertTrue(Packed24Matrix.fits(columns: 64, keep: 2, encoding: .q8_0))
    }
}
