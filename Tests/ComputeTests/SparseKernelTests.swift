import XCTest
@testable import Compute

/// Sparse kernels (CSR, packed N:M) against a plain double-precision dense product on
/// random matrices: odd shapes, widths that are not multiples of the SIMD width, all-zero
/// rows, token counts that hit the 32-, 8- and 1-token blocks, and the multi-threaded split.
final class SparseKernelTests: XCTestCase {
    /// Random dense matrix with roughly `density` non-zeros; rows in `zeroRows` all zero.
    func randomSparse(rows: Int, columns: Int, density: Float, zeroRows: Set<Int> = [], seed: UInt64) -> [Float] {
        var rng = SeededRNG(seed: seed)
        var w = [Float](repeating: 0, count: rows * columns)
        for r in 0..<rows where !zeroRows.contains(r) {
            for c in 0..<columns where rng.nextFloat() < density { w[r * columns + c] = rng.nextGaussian() }
        }
        return w
    }

    /// Keeps the `keep` largest |w| in every group of `group` (ties: lower column first).
    func makeNM(_ w: [Float], columns: Int, keep: Int, group: Int) -> [Float] {
        var out = w
        for g in stride(from: 0, to: w.count, by: group) {
            let order = (0..<group).sorted { abs(w[g + $0]) > abs(w[g + $1]) || (abs(w[g + $0]) == abs(w[g + $1]) && $0 < $1) }
            for o in order[keep...] { out[g + o] = 0 }
        }
        return out
    }

    func reference(_ x: [Float], tokens: Int, _ w: [Float], rows: Int, columns: Int, initial: [Float]?) -> [Float] {
        var y = [Float](repeating: 0, count: tokens * rows)
        for t in 0..<tokens {
            for r in 0..<rows {
                var s = Double(initial?[t * rows + r] ?? 0)
                for c in 0..<columns { s += Double(x[t * columns + c]) * Double(w[r * columns + c]) }
                y[t * rows + r] = Float(s)
            }
        }
        return y
    }

    func randomVector(_ n: Int, seed: UInt64) -> [Float] {
        var rng = SeededRNG(seed: seed)
        return (0..<n).map { _ in rng.nextGaussian() }
    }

    func check(rows: Int, columns: Int, dense w: [Float], multiply: (UnsafePointer<Float>, Int, UnsafeMutablePointer<Float>, Bool) -> Void,
               file: StaticString = #filePath, line: UInt = #line) {
        for tokens in [1, 2, 7, 8, 9, 33, 45] {
            for accumulate in [false, true] {
                let x = randomVector(tokens * columns, seed: UInt64(tokens * 31 + columns))
                let initial = randomVector(tokens * rows, seed: 99)
                var y = accumulate ? initial : [Float](repeating: .nan, count: tokens * rows)
                x.withUnsafeBufferPointer { xb in
                    y.withUnsafeMutableBufferPointer { multiply(xb.baseAddress!, tokens, $0.baseAddress!, accumulate) }
                }
                let expected = reference(x, tokens: tokens, w, rows: rows, columns: columns, initial: accumulate ? initial : nil)
                let err = zip(y, expected).map { abs($0 - $1) }.max()!
                XCTAssertLessThanOrEqual(err, 1e-4, "\(rows)×\(columns), \(tokens) tokens, accumulate \(accumulate)",
                                         file: file, line: line)
            }
        }
    }

    func testCSRMatchesDenseOnOddShapes() throws {
        for (rows, columns, density) in [(1, 1, Float(1)), (37, 53, 0.3), (19, 7, 0.9), (5, 130, 0.05), (300, 611, 0.5)] {
            let w = randomSparse(rows: rows, columns: columns, density: density, zeroRows: [0, rows / 2], seed: UInt64(rows))
            let m = try CSRMatrix(dense: w, rows: rows, columns: columns)
            XCTAssertEqual(m.nonzeroCount, w.filter { $0 != 0 }.count)
            XCTAssertEqual(m.densified(), w)
            check(rows: rows, columns: columns, dense: w) { m.multiply($0, rows: $1, into: $2, accumulate: $3) }
        }
    }

    func bitmap(_ w: [Float], rows: Int, columns: Int, _ e: BlockEncoding = .f32) throws -> BitmapMatrix {
        try w.withUnsafeBufferPointer { try BitmapMatrix(dense: $0.baseAddress!, rows: rows, columns: columns, encoding: e) }
    }

    func testBitmapMatchesDense() throws {
        // Densities from empty to full (every mask byte 0x00 or 0xFF in places), zero rows, and
        // a matrix large enough to split across the workers; one token runs the C kernel.
        for (rows, columns, density) in [(1, 32, Float(1)), (37, 64, 0.3), (19, 96, 0.9), (5, 160, 0.05), (300, 640, 0.5),
                                          (8, 32, 0)] {
            let w = randomSparse(rows: rows, columns: columns, density: density, zeroRows: [0, rows / 2], seed: UInt64(columns))
            let m = try bitmap(w, rows: rows, columns: columns)
            XCTAssertEqual(m.densified(), w)
            XCTAssertEqual(m.nonzeroCount, w.filter { $0 != 0 }.count)
            XCTAssertEqual(m.storedCount, m.nonzeroCount)
            XCTAssertEqual(m.bytes, BitmapMatrix.bytes(rows: rows, columns: columns, nonzeros: m.nonzeroCount))
            check(rows: rows, columns: columns, dense: w) { m.multiply($0, rows: $1, into: $2, accumulate: $3) }
        }
    }

    func testBitmapSixteenBitValuesEqualTheirRoundedWeights() throws {
        let rows = 70, columns = 576
        let w = randomSparse(rows: rows, columns: columns, density: 0.3, zeroRows: [3], seed: 5)
        let m32 = try bitmap(w, rows: rows, columns: columns)
        for e in [BlockEncoding.f16, .bf16] {
            let rounded = w.map { e == .f16 ? floatFromFloat16Bits(float16Bits($0)) : floatFromBFloat16Bits(bfloat16Bits($0)) }
            for m in [try bitmap(w, rows: rows, columns: columns, e), try m32.withValueEncoding(e)] {
                XCTAssertEqual(m.valueEncoding, e)
                XCTAssertEqual(m.densified(), rounded, "\(e)")
                XCTAssertEqual(m.bytes, BitmapMatrix.bytes(rows: rows, columns: columns, nonzeros: m.storedCount, encoding: e))
                check(rows: rows, columns: columns, dense: rounded) { m.multiply($0, rows: $1, into: $2, accumulate: $3) }
            }
        }
    }

    func testBitmapRefusesWhatItCannotHold() {
        XCTAssertThrowsError(try bitmap([Float](repeating: 1, count: 40), rows: 1, columns: 40)) { e in
            XCTAssertEqual(e as? SparseFormatError, .columnsNotMultipleOfGroup(columns: 40, group: 32))
        }
        XCTAssertThrowsError(try bitmap([Float](repeating: 1, count: 32), rows: 1, columns: 32, .q8_0)) { e in
            XCTAssertTrue("\(e)".contains("bitmap storage holds its values in f32, f16, bf16, not q8_0"), "\(e)")
        }
    }

    func testAllZeroMatrixGivesZeros() throws {
        let m = try CSRMatrix(dense: [Float](repeating: 0, count: 12 * 20), rows: 12, columns: 20)
        XCTAssertEqual(m.nonzeroCount, 0)
        check(rows: 12, columns: 20, dense: [Float](repeating: 0, count: 240)) { m.multiply($0, rows: $1, into: $2, accumulate: $3) }
    }

    func testPackedNMRoundTripAndProducts() throws {
        for (rows, columns, keep, group) in [(23, 36, 2, 4), (9, 64, 4, 8), (300, 612, 2, 4), (6, 48, 1, 4), (11, 24, 3, 6)] {
            // Sparser than the pattern in places: some groups keep fewer than `keep`.
            let w = makeNM(randomSparse(rows: rows, columns: columns, density: 0.8, zeroRows: [1], seed: UInt64(columns)),
                           columns: columns, keep: keep, group: group)
            let m = try PackedNMMatrix(dense: w, rows: rows, columns: columns, keep: keep, group: group)
            XCTAssertEqual(m.densified(), w, "\(keep):\(group) round trip")
            XCTAssertEqual(m.nonzeroCount, w.filter { $0 != 0 }.count)
            XCTAssertEqual(m.values.count, rows * columns / group * keep)
            XCTAssertTrue(m.offsets.allSatisfy { Int($0) < group })
            check(rows: rows, columns: columns, dense: w) { m.multiply($0, rows: $1, into: $2, accumulate: $3) }
            // Detection tries groups of 4, 8 and 16.
            guard [4, 8, 16].contains(group) else { continue }
            let detected = w.withUnsafeBufferPointer { PackedNMMatrix.detectPattern(dense: $0.baseAddress!, rows: rows, columns: columns) }
            XCTAssertEqual(detected?.group, group, "\(keep):\(group)")
            XCTAssertLessThanOrEqual(detected?.keep ?? .max, keep)
        }
    }

    func testBadSettingsAreClearErrors() {
        // Unstructured 50 %: some group of 4 holds 3 or 4 non-zeros.
        let w = randomSparse(rows: 16, columns: 32, density: 0.5, seed: 3)
        XCTAssertThrowsError(try PackedNMMatrix(dense: w, rows: 16, columns: 32, keep: 2, group: 4)) { e in
            guard case SparseFormatError.notNM(2, 4, _, _, let n) = e else { return XCTFail("\(e)") }
            XCTAssertGreaterThan(n, 2)
            XCTAssertTrue("\(e)".contains("not 2:4 sparse"), "\(e)")
        }
        XCTAssertNil(w.withUnsafeBufferPointer { PackedNMMatrix.detectPattern(dense: $0.baseAddress!, rows: 16, columns: 32) })
        XCTAssertThrowsError(try PackedNMMatrix(dense: [Float](repeating: 0, count: 30), rows: 1, columns: 30, keep: 2, group: 4)) { e in
            XCTAssertEqual(e as? SparseFormatError, .columnsNotMultipleOfGroup(columns: 30, group: 4))
        }
        XCTAssertThrowsError(try PackedNMMatrix(dense: [Float](repeating: 0, count: 8), rows: 1, columns: 8, keep: 5, group: 4))
        XCTAssertThrowsError(try CSRMatrix(dense: [Float](repeating: 0, count: 70_000), rows: 1, columns: 70_000)) { e in
            XCTAssertEqual(e as? SparseFormatError, .tooManyColumns(columns: 70_000, limit: 65_536))
        }
    }

    func testBytesPerFormat() throws {
        // Hand counts: CSR = 6 bytes per non-zero + 4 per row start; N:M = 5 bytes per kept value;
        // bitmap = 1 bit per weight + 4 bytes per value (8 of padding) + 4 per row start.
        var w = [Float](repeating: 0, count: 4 * 8)
        w[0] = 1; w[9] = 2; w[10] = 3; w[31] = 4
        var w32 = [Float](repeating: 0, count: 4 * 32)
        w32[0] = 1; w32[40] = 2; w32[127] = 3
        XCTAssertEqual(try bitmap(w32, rows: 4, columns: 32).bytes, 4 * 4 + (3 + 8) * 4 + 5 * 4)
        XCTAssertEqual(try bitmap(w32, rows: 4, columns: 32, .f16).bytes, 4 * 4 + (3 + 8) * 2 + 5 * 4)
        XCTAssertEqual(try CSRMatrix(dense: w, rows: 4, columns: 8).bytes, 4 * 6 + 5 * 4)
        XCTAssertEqual(try PackedNMMatrix(dense: w, rows: 4, columns: 8, keep: 2, group: 4).bytes, 4 * 4 * 5)
    }
}
