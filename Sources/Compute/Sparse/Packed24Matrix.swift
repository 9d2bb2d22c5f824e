import DecodeKernels

/// A 2:4 (or 1:4) sparse matrix W [rows × columns] packed for batch-1 decode: the kept values
/// in a `BlockEncoding` (f32, f16, bf16 or Q8_0 blocks over the kept values) and a 2-bit
/// offset per kept value. 2:4 in f32 streams 2.125 bytes per weight instead of 4; with 8-bit
/// values 0.62 instead of Q8_0's 1.06 — what makes N:M pruning pay in decode.
///
/// Layout, chosen so the kernel needs no gathers: each row is cut into chunks of 8 groups
/// (32 columns); a chunk holds 8 · keep values and one UInt32 of codes, the 2-bit offset
/// (0–3 within its group) of kept value j in bits 2j, 2j + 1. The values are in the order
/// AVX2's in-lane permute (vpermilps) delivers x, so the kernel (`DecodeKernels/
/// packed24_dot.c`) gathers the x under 8 kept values with two or four permutes of plain
/// loads, and multiplies with one FMA:
///
///     kept j = 8k + 4h + p (k = j / 8, h = 0 or 1, p = 0…3)
///     2:4: group 4k + 2·(p / 2) + h, slot p mod 2      1:4: group 2p + h
///
/// Groups with fewer non-zeros than slots are padded with zero values.
public struct Packed24Matrix: Sendable, RowDecoding {
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

    /// The group (0–7) and slot of kept value j (0 ≤ j < 8 · keep) of a chunk (layout above).
    @inline(__always)
    static func position(kept j: Int, keep: Int) -> (group: Int, slot: Int) {
        let k = j >> 3, h = (j >> 2) & 1, p = j & 3
        return keep == 2 ? (4 * k + 2 * (p >> 1) + h, p & 1) : (2 * p + h, 0)
    }

    /// The encodings the kept values may use (the kernel reads 32-, 16- and 8-bit values).
    public static let valueEncodings: Set<BlockEncoding> = [.f32, .f16, .bf16, .q8_0]

    /// Whether a matrix of this width can be held: whole chunks, and whole value blocks.
    public static func fits(columns: Int, keep: Int, encoding: BlockEncoding) -> Bool {
        valueEncodings.contains(encoding) && (keep == 1 || keep == 2) && columns > 0 && columns % 32 == 0 && (columns / 4 * keep) % encoding.blockSize == 0
    }

    /// Packs a dense row-major matrix whose every group of 4 inputs holds at most `keep` non-zeros;
    /// `encode` turns the float kept values [rows × kept] into the value encoding's bytes.
    public init(dense: UnsafePointer<Float>, rows: Int, columns: Int, keep: Int, encoding: BlockEncoding,
                encode: ([Float], Int) throws -> [UInt8]) throws {
        guard keep == 1 || keep == 2 else { throw SparseFormatError.invalidPattern(keep: keep, group: 4) }
        guard Self.valueEncodings.contains(encoding) else { throw SparseFormatError.valueEncoding(encoding.rawValue, format: "packed 2:4", allowed: ["f32", "f16", "bf16", "q8_0"]) }
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
                var offsets = [[Int]](repeating: [], count: 8)
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
                    offsets[g] = found.sorted()
                }
                for j in 0..<(8 * keep) {
                    let (g, slot) = Self.position(kept: j, keep: keep)
                    let o = offsets[g][slot]
                    vals[out + j] = dense[r * columns + 32 * c + 4 * g + o]
                    code |= UInt32(o) << UInt32(2 * j)
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
                for j in 0..<(8 * keep) {
                    let o = Int((code >> UInt32(2 * j)) & 3)
                    row[32 * c + 4 * Self.position(kept: j, keep: keep).group + o] = v[c * 8 * keep + j]
                }
            }
        }
    }

    /// y[n × rows] = x[n × columns] · Wᵀ (+ y when accumulate). One input row runs the kernel
    /// above; several decode slices of W to float32 for BLAS (at density ½ a dense GEMM over
    /// the zeros beats a sparse one: `SparseProducts.densifyAboveDensity`).
    public func multiply(_ x: UnsafePointer<Float>, rows n: Int, into y: UnsafeMutablePointer<Float>, accumulate: Bool = false) {
        if n == 0 || rows == 0 { return }
        guard n == 1 else { return decodedSliceProduct(x, tokens: n, into: y, accumulate: accumulate) }
        guard let type = valueEncoding.sparseValueType else { preconditionFailure("packed 2:4 values are f32, f16, bf16 or q8_0") }
        values.storage.withUnsafeBytes { raw in
            codes.withUnsafeBufferPointer { cb in
                let base = raw.baseAddress!.assumingMemoryBound(to: UInt8.self), codes = cb.baseAddress!
                let workers = rows * columns < EncodedRows.parallelWeights ? 1 : Parallelism.threads
                parallelFor(rows, minPerThread: max(1, rows / workers)) { r0, r1 in
                    dk_packed24_rows(type, Int32(keep), base, values.rowBytes, codes, chunksPerRow, x, r0, r1, y,
                                     accumulate ? 1 : 0)
                }
            }
        }
    }
}
