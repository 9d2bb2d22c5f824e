import DecodeKernels

/// A matrix W [rows × columns] in compressed sparse row form (CSR): for each row, its
/// non-zero values and their column indices, stored contiguously row after row.
/// Column indices are UInt16 (2 bytes instead of 4): enough for every linear layer of the
/// models we run (input widths ≤ 65,536), and they cut the bytes a decode step streams from
/// memory to 6 per non-zero (float32 value + index), against 4 per weight dense — so CSR
/// reads fewer bytes than dense below a density of 2/3.
public struct CSRMatrix: Sendable {
    public let rows: Int
    public let columns: Int
    /// rowStart[r]..<rowStart[r+1] are row r's entries in `columnIndex`/`values`.
    public let rowStart: [Int32]
    public let columnIndex: [UInt16]
    public let values: [Float]

    public static let maxColumns = Int(UInt16.max) + 1

    /// Keeps the non-zero entries of a row-major dense matrix (exact zeros are dropped).
    public init(dense: UnsafePointer<Float>, rows: Int, columns: Int) throws {
        guard columns <= Self.maxColumns else { throw SparseFormatError.tooManyColumns(columns: columns, limit: Self.maxColumns) }
        var nonzeros = 0
        for i in 0..<(rows * columns) where dense[i] != 0 { nonzeros += 1 }
        var start = [Int32](repeating: 0, count: rows + 1)
        var index = [UInt16](repeating: 0, count: nonzeros)
        var vals = [Float](repeating: 0, count: nonzeros)
        var n = 0
        for r in 0..<rows {
            let row = dense + r * columns
            for c in 0..<columns where row[c] != 0 {
                index[n] = UInt16(c); vals[n] = row[c]; n += 1
            }
            start[r + 1] = Int32(n)
        }
        self.rows = rows; self.columns = columns
        rowStart = start; columnIndex = index; values = vals
    }

    public init(dense: [Float], rows: Int, columns: Int) throws {
        precondition(dense.count == rows * columns)
        self = try dense.withUnsafeBufferPointer { try CSRMatrix(dense: $0.baseAddress!, rows: rows, columns: columns) }
    }

    public var nonzeroCount: Int { values.count }

    /// Bytes held: 4 per value, 2 per column index, 4 per row start.
    public var bytes: Int { Self.bytes(nonzeros: values.count, rows: rows) }

    public static func bytes(nonzeros: Int, rows: Int) -> Int {
        nonzeros * (MemoryLayout<Float>.size + MemoryLayout<UInt16>.size) + (rows + 1) * MemoryLayout<Int32>.size
    }

    /// The dense row-major matrix, zeros included.
    public func densified() -> [Float] {
        var out = [Float](repeating: 0, count: rows * columns)
        for r in 0..<rows {
            for i in Int(rowStart[r])..<Int(rowStart[r + 1]) { out[r * columns + Int(columnIndex[i])] = values[i] }
        }
        return out
    }

    /// y[n × rows] = x[n × columns] · Wᵀ (+ y when accumulate): the product a linear layer
    /// with weight W computes. One input row (decode) runs the gather kernel; several rows
    /// (prefill) run the transposed-activation kernel (`SparseProducts`).
    public func multiply(_ x: UnsafePointer<Float>, rows n: Int, into y: UnsafeMutablePointer<Float>, accumulate: Bool = false) {
        rowStart.withUnsafeBufferPointer { s in
            columnIndex.withUnsafeBufferPointer { c in
                values.withUnsafeBufferPointer { v in
                    let rs = s.baseAddress!, ci = c.baseAddress!, vs = v.baseAddress!
                    if n == 1 {
                        let workers = values.count < SparseProducts.parallelWork ? 1 : Parallelism.threads
                        parallelFor(rows, minPerThread: max(1, rows / workers)) { r0, r1 in
                            dk_csr_rows(vs, ci, rs, x, r0, r1, y, accumulate ? 1 : 0)
                        }
                        return
                    }
                    if Double(values.count) > SparseProducts.densifyAboveDensity * Double(rows * columns) {
                        SparseProducts.densifiedProduct(outputs: rows, inputs: columns, tokens: n, x: x, y: y,
                                                        accumulate: accumulate) { r0, r1, w in
                            for r in r0..<r1 {
                                let dst = w + (r - r0) * columns
                                for i in Int(rs[r])..<Int(rs[r + 1]) { dst[Int(ci[i])] = vs[i] }
                            }
                        }
                        return
                    }
                    let xT = SparseProducts.transposed(x, tokens: n, inputs: columns)
                    defer { xT.deallocate() }
                    let widest = (0..<rows).reduce(0) { max($0, Int(rs[$1 + 1] - rs[$1])) }
                    SparseProducts.overRows(outputs: rows, work: values.count * n, scratch: widest) { r0, r1, cols in
                        for r in r0..<r1 {
                            let b = Int(rs[r]), count = Int(rs[r + 1]) - b
                            for i in 0..<count { cols[i] = Int32(ci[b + i]) }
                            SparseProducts.rowTimesTokens(values: vs + b, columns: cols, count: count, xT: xT, tokens: n,
                                                          y: y, row: r, outputs: rows, accumulate: accumulate)
                        }
                    }
                }
            }
        }
    }
}
