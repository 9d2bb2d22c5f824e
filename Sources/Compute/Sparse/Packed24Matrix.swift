/// A 2:4 (or 1:4) sparse matrix W [rows × columns] packed for batch-1 decode: the kept values
/// in a `BlockEncoding` (f32, f16, bf16 or Q8_0 blocks over the kept values) and a 2-bit
/// offset per kept value. 2:4 in f32 streams 2.125 bytes per weight instead of 4; with 8-bit
/// values 0.62 instead of Q8_0's 1.06 — what makes N:M pruning pay in decode.
///
/// Layout, chosen so the kernel needs no gathers: each row is cut into chunks of 8 groups
/// (32 columns). A chunk holds slot 0 of its 8 groups, then (2:4) slot 1 — 8 or 16 values —
/// and one UInt32 of codes: bits 2g, 2g+1 are group g's slot-0 offset (0–3), bits 16+2g,
/// 17+2g its slot-1 offset. x is split once per product into its four phases
/// X_k[g] = x[4g + k]; the x under 8 kept values is then X_0 with X_1, X_2, X_3 blended in
/// where the offsets say so (compare-and-select, 8 lanes at a time), and one FMA per 8 kept.
/// Groups with fewer non-zeros than slots are padded with zero values.
public struct Packed24Matrix: Sendable {
    public let rows: Int
    public let columns: Int
    /// Kept values per group of 4 (1 or 2).
    public let keep: Int
    /// [rows × (columns / 4 · keep)] kept values, chunk-major as above.
    public let values: EncodedMatrix
    /// [rows × columns / 32] offset codes.
    public let codes: [UInt32]

    public var valueEncoding: BlockEncoding { values.encoding }
    public var keptPerRow: Int { columns / 4 * keep }
    var chunksPerRow: Int { columns / 32 }

    /// Whether a matrix of this width can be held: whole chunks, and whole value blocks.
    public static func fits(columns: Int, keep: Int, encoding: BlockEncoding) -> Bool {
        (keep == 1 || keep == 2) && columns > 0 && columns % 32 == 0 && (columns / 4 * keep) % encoding.blockSize == 0
    }

    /// Packs a dense row-major matrix whose every group of 4 inputs holds at most `keep` non-zeros;
    /// `encode` turns the float kept values [rows × kept] into the value encoding's bytes.
    public init(dense: UnsafePointer<Float>, rows: Int, columns: Int, keep: Int, encoding: BlockEncoding,
                encode: ([Float], Int) throws -> [UInt8]) throws {
        guard keep == 1 || keep == 2 else { throw SparseFormatError.invalidPattern(keep: keep, group: 4) }
        guard Self.fits(columns: columns, keep: keep, encoding: encoding) else {
            throw SparseFormatError.columnsNotMultipleOfGroup(columns: columns, group: max(32, encoding.blockSize * 4 / keep))
        }
        let kept = columns / 4 * keep, chunks = columns / 32
        var vals = [Float](repeating: 0, count: rows * kept)
        var codes = [UInt32](repeating: 0, count: rows * chunks)
        for r in 0..<rows {
            for c in 0..<chunks {
                var code: UInt32 = 0
                let out = r * kept + c * 8 * keep
                for g in 0..<8 {
                    let col = 32 * c + 4 * g
                    let p = dense + r * columns + col
                    var found: [Int] = []
                    for o in 0..<4 where p[o] != 0 { found.append(o) }
                    guard found.count <= keep else {
                        throw SparseFormatError.notNM(keep: keep, group: 4, row: r, column: col, nonzeros: found.count)
                    }
                    // Padding: unused offsets, kept in rising order so slot 0 < slot 1.
                    var o = 0
                    while found.count < keep {
                        if !found.contains(o) { found.append(o) }
                        o += 1
                    }
                    found.sort()
                    for s in 0..<keep {
                        vals[out + 8 * s + g] = p[found[s]]
                        code |= UInt32(found[s]) << UInt32(16 * s + 2 * g)
                    }
                }
                codes[r * chunks + c] = code
            }
        }
        self.rows = rows; self.columns = columns; self.keep = keep; self.codes = codes
        values = try EncodedMatrix(encoding: encoding, rows: rows, columns: kept, bytes: try encode(vals, kept))
    }

    /// The kept values as float32, [rows × keptPerRow] in the packed order.
    public func densifiedValues() -> [Float] { values.densified() }

    /// The same pattern with the kept values in another encoding (`values` [rows × keptPerRow]).
    public func withValues(_ v: EncodedMatrix) throws -> Packed24Matrix {
        guard v.rows == rows, v.columns == keptPerRow else {
            throw EncodedMatrixError.byteCount(expected: rows * keptPerRow, got: v.rows * v.columns, encoding: v.encoding)
        }
        return Packed24Matrix(rows: rows, columns: columns, keep: keep, values: v, codes: codes)
    }

    private init(rows: Int, columns: Int, keep: Int, values: EncodedMatrix, codes: [UInt32]) {
        self.rows = rows; self.columns = columns; self.keep = keep; self.values = values; self.codes = codes
    }

    /// Non-zeros stored (padding excluded).
    public var nonzeroCount: Int { values.densified().reduce(0) { $1 != 0 ? $0 + 1 : $0 } }

    /// Bytes held: the encoded values and 2 bits per kept value.
    public var bytes: Int { values.bytes + 4 * codes.count }

    /// Rows r0..<r1 as dense float32 into dst [(r1 − r0) × columns] (zeros written too).
    public func decodeRows(_ r0: Int, _ r1: Int, into dst: UnsafeMutablePointer<Float>) {
        let kept = keptPerRow, chunks = chunksPerRow
        let v = UnsafeMutablePointer<Float>.allocate(capacity: max(1, kept))
        defer { v.deallocate() }
        dst.initialize(repeating: 0, count: (r1 - r0) * columns)
        for r in r0..<r1 {
            values.decodeRows(r, r + 1, into: v)
            let row = dst + (r - r0) * columns
            for c in 0..<chunks {
                let code = codes[r * chunks + c]
                for s in 0..<keep {
                    for g in 0..<8 {
                        let o = Int((code >> UInt32(16 * s + 2 * g)) & 3)
                        row[32 * c + 4 * g + o] = v[c * 8 * keep + 8 * s + g]
                    }
                }
            }
        }
    }

    /// The dense row-major matrix, zeros included.
    public func densified() -> [Float] {
        var out = [Float](repeating: 0, count: rows * columns)
        if rows > 0 { out.withUnsafeMutableBufferPointer { decodeRows(0, rows, into: $0.baseAddress!) } }
        return out
    }

    /// y[n × rows] = x[n × columns] · Wᵀ (+ y when accumulate). One input row runs the kernel
    /// above; several decode slices of W to float32 for BLAS (at density ½ a dense GEMM over
    /// the zeros beats a sparse one: `SparseProducts.densifyAboveDensity`).
    public func multiply(_ x: UnsafePointer<Float>, rows n: Int, into y: UnsafeMutablePointer<Float>, accumulate: Bool = false) {
        if n == 0 || rows == 0 { return }
        guard n == 1 else {
            SparseProducts.densifiedProduct(outputs: rows, inputs: columns, tokens: n, x: x, y: y, accumulate: accumulate,
                                            zeroFill: false) { r0, r1, w in decodeRows(r0, r1, into: w) }
            return
        }
        let groups = columns / 4
        withUnsafeTemporaryAllocation(of: Float.self, capacity: columns) { phases in
            let xp = phases.baseAddress!
            for g in 0..<groups {
                for k in 0..<4 { xp[k * groups + g] = x[4 * g + k] }
            }
            values.storage.withUnsafeBytes { raw in
                codes.withUnsafeBufferPointer { cb in
                    let base = raw.baseAddress!, codes = cb.baseAddress!
                    let workers = rows * columns < EncodedRows.parallelWeights ? 1 : Parallelism.threads
                    parallelFor(rows, minPerThread: max(1, rows / workers)) { r0, r1 in
                        for r in r0..<r1 {
                            let d = Packed24Kernel.dot(valueEncoding, keep: keep, values: base + r * values.rowBytes,
                                                       codes: codes + r * chunksPerRow, chunks: chunksPerRow,
                                                       phases: xp, groups: groups)
                            if accumulate { y[r] += d } else { y[r] = d }
                        }
                    }
                }
            }
        }
    }
}

/// The dot product of one packed 2:4 / 1:4 row with x (as its four phases).
enum Packed24Kernel {
    static let shifts = SIMD8<UInt32>(0, 2, 4, 6, 8, 10, 12, 14)

    /// x under the 8 kept values of one slot of a chunk: X_offset per lane, chosen by the
    /// offset's two bits with bit-mask selects (`EncodedRows.select`).
    @inline(__always)
    static func select(_ code: UInt32, slot: Int, _ x0: SIMD8<Float>, _ x1: SIMD8<Float>, _ x2: SIMD8<Float>,
                       _ x3: SIMD8<Float>) -> SIMD8<Float> {
        let o = (SIMD8<UInt32>(repeating: code &>> UInt32(16 * slot)) &>> shifts) & 3
        let low = 0 &- (o & 1), high = 0 &- (o &>> 1)
        @inline(__always) func bits(_ v: SIMD8<Float>) -> SIMD8<UInt32> { unsafeBitCast(v, to: SIMD8<UInt32>.self) }
        let odd = EncodedRows.select(low, bits(x3), bits(x2)), even = EncodedRows.select(low, bits(x1), bits(x0))
        return unsafeBitCast(EncodedRows.select(high, odd, even), to: SIMD8<Float>.self)
    }

    @inline(__always)
    static func dot(_ e: BlockEncoding, keep: Int, values: UnsafeRawPointer, codes: UnsafePointer<UInt32>, chunks: Int,
                    phases xp: UnsafePointer<Float>, groups: Int) -> Float {
        // Eight kept values j..<j+8 of the row as floats (Q8_0: without the block's scale).
        @inline(__always) func load(_ j: Int) -> SIMD8<Float> {
            switch e {
            case .f32: return (values + 4 * j).loadUnaligned(as: SIMD8<Float>.self)
            case .f16: return EncodedRows.halves8(values + 2 * j)
            case .bf16: return EncodedRows.bfloats8(values + 2 * j)
            default: return EncodedRows.int8s8(values + 34 * (j / 32) + 2 + j % 32)   // q8_0
            }
        }
        var acc = SIMD8<Float>()
        var block = SIMD8<Float>()   // Q8_0: the products of the current 32-value block
        var j = 0
        for c in 0..<chunks {
            let code = codes[c]
            let g0 = xp + 8 * c
            let x0 = EncodedRows.load8(g0), x1 = EncodedRows.load8(g0 + groups)
            let x2 = EncodedRows.load8(g0 + 2 * groups), x3 = EncodedRows.load8(g0 + 3 * groups)
            for s in 0..<keep {
                let xs = select(code, slot: s, x0, x1, x2, x3)
                if e == .q8_0 {
                    block.addProduct(load(j), xs)
                    if (j + 8) % 32 == 0 {
                        acc.addProduct(block, SIMD8<Float>(repeating: EncodedRows.half(values + 34 * (j / 32))))
                        block = SIMD8<Float>()
                    }
                } else {
                    acc.addProduct(load(j), xs)
                }
                j += 8
            }
        }
        return acc.sum()
    }
}
