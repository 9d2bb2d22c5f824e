import XCTest
@testable import Compute
import DecodeKernels

/// Encoded weight kernels (F32, F16, BF16, Q8_0, Q4_0, Q4_1) against a scalar reference
/// written here from ggml's block layouts: decoding value by value, and every product (one
/// input row through the dot kernels, several through the decoded tiles and BLAS; with and
/// without accumulation; rows split across workers) against a double-precision sum. One
/// token through a block type is checked against x rounded to 8-bit activation blocks.
final class EncodedMatrixTests: XCTestCase {
    /// Random bytes that are a valid matrix in `e`: finite 16-bit scales, any nibbles/int8s.
    func randomBytes(_ e: BlockEncoding, rows: Int, columns: Int, seed: UInt64) -> [UInt8] {
        var rng = SeededRNG(seed: seed)
        var out: [UInt8] = []
        func half(_ v: Float) { let h = float16Bits(v); out += [UInt8(h & 0xFF), UInt8(h >> 8)] }
        for _ in 0..<rows {
            switch e {
            case .f32:
                for _ in 0..<columns { withUnsafeBytes(of: rng.nextGaussian()) { out += $0 } }
            case .f16:
                for _ in 0..<columns { half(rng.nextGaussian()) }
            case .bf16:
                for _ in 0..<columns { let b = bfloat16Bits(rng.nextGaussian()); out += [UInt8(b & 0xFF), UInt8(b >> 8)] }
            case .q8_0, .q4_0, .q4_1:
                for _ in 0..<(columns / 32) {
                    half(0.01 + 0.05 * rng.nextFloat())
                    if e == .q4_1 { half(rng.nextGaussian() * 0.1) }
                    let n = e == .q8_0 ? 32 : 16
                    for _ in 0..<n { out.append(UInt8(truncatingIfNeeded: rng.next())) }
                }
            }
        }
        return out
    }

    /// Value c of row r, decoded one at a time from the layout.
    func referenceValue(_ e: BlockEncoding, _ b: [UInt8], rowBytes: Int, _ r: Int, _ c: Int) -> Float {
        let row = r * rowBytes
        func u16(_ o: Int) -> UInt16 { UInt16(b[row + o]) | UInt16(b[row + o + 1]) << 8 }
        switch e {
        case .f32:
            let bits = UInt32(b[row + 4 * c]) | UInt32(b[row + 4 * c + 1]) << 8 | UInt32(b[row + 4 * c + 2]) << 16 | UInt32(b[row + 4 * c + 3]) << 24
            return Float(bitPattern: bits)
        case .f16: return floatFromFloat16Bits(u16(2 * c))
        case .bf16: return Float(bitPattern: UInt32(u16(2 * c)) << 16)
        case .q8_0:
            let blk = 34 * (c / 32)
            return Float(Int8(bitPattern: b[row + blk + 2 + c % 32])) * floatFromFloat16Bits(u16(blk))
        case .q4_0, .q4_1:
            let size = e == .q4_0 ? 18 : 20, blk = size * (c / 32), j = c % 32
            let q = b[row + blk + size - 16 + j % 16]
            let nibble = j < 16 ? q & 0x0F : q >> 4
            let d = floatFromFloat16Bits(u16(blk))
            if e == .q4_0 { return Float(Int(nibble) - 8) * d }
            return Float(nibble) * d + floatFromFloat16Bits(u16(blk + 2))
        }
    }

    func testDecodingMatchesTheLayout() throws {
        for e in BlockEncoding.allCases {
            let rows = 3, columns = 96
            let bytes = randomBytes(e, rows: rows, columns: columns, seed: 7)
            let m = try EncodedMatrix(encoding: e, rows: rows, columns: columns, bytes: bytes)
            let dense = m.densified()
            for r in 0..<rows {
                for c in 0..<columns {
                    let want = referenceValue(e, bytes, rowBytes: m.rowBytes, r, c)
                    XCTAssertEqual(dense[r * columns + c].bitPattern, want.bitPattern, "\(e) [\(r), \(c)]")
                }
            }
        }
    }

    /// x as the block kernels see it: per block of 32, d = max|x| / 127 and x ≈ d · q with q
    /// rounded to nearest, ties to even (llama.cpp's activation blocks).
    func activationBlocks(_ x: [Float]) -> [Float] {
        var out = x
        for b in 0..<(x.count / 32) {
            let block = x[(32 * b)..<(32 * b + 32)]
            let amax = block.map(abs).max()!
            let d = amax / 127, id: Float = amax != 0 ? 127 / amax : 0
            for i in block.indices { out[i] = (x[i] * id).rounded(.toNearestOrEven) * d }
        }
        return out
    }

    func testActivationRoundingIsWhatTheKernelsSee() {
        // A block whose values round to ties and to ±127 exactly, against the rule by hand.
        var x = [Float](repeating: 0, count: 32)
        x[0] = 127; x[1] = -127; x[2] = 0.5; x[3] = 1.5; x[4] = -2.5; x[5] = 63.49
        var q = [dk_q8_block](repeating: dk_q8_block(), count: 1)
        x.withUnsafeBufferPointer { xp in q.withUnsafeMutableBufferPointer { dk_quantize_q8(xp.baseAddress!, 1, $0.baseAddress!) } }
        let got = withUnsafeBytes(of: q[0].q) { Array($0.bindMemory(to: Int8.self)) }
        XCTAssertEqual(Array(got.prefix(6)), [127, -127, 0, 2, -2, 63])
        XCTAssertEqual(q[0].d, 1)
        XCTAssertEqual(q[0].s, 127 - 127 + 0 + 2 - 2 + 63)
    }

    func testProductsMatchADoubleReference() throws {
        // 1 token: the dot kernels (single- and multi-threaded); 3 and 70: decoded tiles + BLAS.
        for e in BlockEncoding.allCases {
            for (rows, columns) in [(5, 32), (300, 160), (130, 1056)] {
                let bytes = randomBytes(e, rows: rows, columns: columns, seed: UInt64(rows + columns))
                let m = try EncodedMatrix(encoding: e, rows: rows, columns: columns, bytes: bytes)
                let w = m.densified()
                for tokens in [1, 3, 70] {
                    var rng = SeededRNG(seed: UInt64(tokens))
                    let x = (0..<(tokens * columns)).map { _ in rng.nextGaussian() }
                    let initial = (0..<(tokens * rows)).map { _ in rng.nextGaussian() }
                    for accumulate in [false, true] {
                        var y = accumulate ? initial : [Float](repeating: .nan, count: tokens * rows)
                        x.withUnsafeBufferPointer { xp in
                            y.withUnsafeMutableBufferPointer { m.multiply(xp.baseAddress!, rows: tokens, into: $0.baseAddress!, accumulate: accumulate) }
                        }
                        // One token through a block type multiplies x rounded to 8 bits per block.
                        let xUsed = tokens == 1 && e.blockSize == 32 ? activationBlocks(x) : x
                        var worst = 0.0
                        for t in 0..<tokens {
                            for r in 0..<rows {
                                var s = accumulate ? Double(initial[t * rows + r]) : 0, scale = abs(s)
                                for c in 0..<columns {
                                    let p = Double(xUsed[t * columns + c]) * Double(w[r * columns + c])
                                    s += p; scale += abs(p)
                                }
                                worst = max(worst, abs(Double(y[t * rows + r]) - s) / max(scale, 1e-6))
                            }
                        }
                        XCTAssertLessThan(worst, 2e-6, "\(e) \(rows)×\(columns), \(tokens) token(s), accumulate \(accumulate)")
                    }
                }
            }
        }
    }

    func testDenseBatchOneKernelMatchesSgemm() {
        var rng = SeededRNG(seed: 3)
        let rows = 777, columns = 203
        let w = (0..<(rows * columns)).map { _ in rng.nextGaussian() }
        let x = (0..<columns).map { _ in rng.nextGaussian() }
        var one = [Float](repeating: 0, count: rows), two = [Float](repeating: 0, count: 2 * rows)
        BLAS.linear(x, rows: 1, inFeatures: columns, weight: w, outFeatures: rows, into: &one)
        BLAS.linear(x + x, rows: 2, inFeatures: columns, weight: w, outFeatures: rows, into: &two)
        for r in 0..<rows { XCTAssertEqual(one[r], two[r], accuracy: 1e-4 * max(1, abs(two[r]))) }
    }

    func testBadSizesAreRefused() {
        XCTAssertThrowsError(try EncodedMatrix(encoding: .q8_0, rows: 2, columns: 40, bytes: [])) { e in
            XCTAssertEqual(e as? EncodedMatrixError, .columnsNotBlockAligned(columns: 40, encoding: .q8_0))
        }
        XCTAssertThrowsError(try EncodedMatrix(encoding: .q4_1, rows: 2, columns: 64, bytes: [UInt8](repeating: 0, count: 79))) { e in
            XCTAssertEqual(e as? EncodedMatrixError, .byteCount(expected: 80, got: 79, encoding: .q4_1))
        }
        XCTAssertThrowsError(try EncodedMatrix(encoding: .f16, rows: Int.max / 2, columns: 8, bytes: []))
    }

    func testMemoryBandwidthIsMeasured() {
        let m = MemoryBandwidth.measure(arrayBytes: 8 << 20, repetitions: 2)
        XCTAssertTrue(m.readGBps.isFinite && m.readGBps > 0.1, "\(m.readGBps)")
        XCTAssertTrue(m.triadGBps.isFinite && m.triadGBps > 0.1, "\(m.triadGBps)")
        XCTAssertEqual(m.arrayBytes, 8 << 20)
    }
}
