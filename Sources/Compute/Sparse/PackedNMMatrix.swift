/// A matrix W [rows × columns] whose every group of `group` consecutive inputs holds at most
/// `keep` non-zeros (N:M sparsity, Mishra et al. 2021 "Accelerating Sparse Deep Neural
/// Networks"), packed as exactly `keep` values per group plus each value's offset inside its
/// group (one byte). Every row then has the same length and no row pointers are needed:
/// for 2:4, 5 bytes per kept value = 2.5 bytes per weight against 4 dense.
/// Groups with fewer than `keep` non-zeros are padded with zero values at unused offsets.
public struct PackedNMMatrix: Sendable {
    public let rows: Int
    public let columns: Int
    public let keep: Int
    public let group: Int
    /// [rows × keptPerRow] kept values, group after group.
    public let values: [Float]
    /// Offset (0..<group) of each kept value inside its group.
    public let offsets: [UInt8]
    /// First column of the group of the j-th kept value of any row: (j / keep) · group.
    let groupStart: [Int32]

    public var keptPerRow: Int { columns / group * keep }

    /// (log2 keep, log2 group) when both are powers of two.
    var shifts: (Int, Int)? {
        keep.nonzeroBitCount == 1 && group.nonzeroBitCount == 1 ? (keep.trailingZeroBitCount, group.trailingZeroBitCount) : nil
    }

    public init(dense: UnsafePointer<Float>, rows: Int, columns: Int, keep: Int, group: Int) throws {
        guard keep >= 1, keep <= group, group <= 256 else { throw SparseFormatError.invalidPattern(keep: keep, group: group) }
        guard columns % group == 0 else { throw SparseFormatError.columnsNotMultipleOfGroup(columns: columns, group: group) }
        let kept = columns / group * keep
        var vals = [Float](repeating: 0, count: rows * kept)
        var offs = [UInt8](repeating: 0, count: rows * kept)
        var n = 0
        for r in 0..<rows {
            for g in stride(from: 0, to: columns, by: group) {
                let p = dense + r * columns + g
                var nonzeros = 0
                for o in 0..<group where p[o] != 0 { nonzeros += 1 }
                guard nonzeros <= keep else {
                    throw SparseFormatError.notNM(keep: keep, group: group, row: r, column: g, nonzeros: nonzeros)
                }
                // Non-zeros first (in column order), then padding at the first zero offsets.
                var padding = keep - nonzeros
                for o in 0..<group {
                    if p[o] != 0 {
                        vals[n] = p[o]; offs[n] = UInt8(o); n += 1
                    } else if padding > 0 {
                        offs[n] = UInt8(o); n += 1; padding -= 1
                    }
                }
            }
        }
        // Padding was appended in column order with the non-zeros, so offsets rise within a group.
        self.rows = rows; self.columns = columns; self.keep = keep; self.group = group
        values = vals; offsets = offs
        groupStart = (0..<kept).map { Int32($0 / keep * group) }
    }

    public init(dense: [Float], rows: Int, columns: Int, keep: Int, group: Int) throws {
        precondition(dense.count == rows * columns)
        self = try dense.withUnsafeBufferPointer {
            try PackedNMMatrix(dense: $0.baseAddress!, rows: rows, columns: columns, keep: keep, group: group)
        }
    }

    /// The smallest group size among `groups` for which this matrix has at most half of each
    /// group non-zero, with keep = the largest non-zero count of any group; nil when none.
    public static func detectPattern(dense: UnsafePointer<Float>, rows: Int, columns: Int,
                                     groups: [Int] = [4, 8, 16]) -> (keep: Int, group: Int)? {
        for g in groups where columns % g == 0 {
            var most = 0
            for start in stride(from: 0, to: rows * columns, by: g) {
                var nz = 0
                for o in 0..<g where dense[start + o] != 0 { nz += 1 }
                most = max(most, nz)
                if most * 2 > g { break }
            }
            if most * 2 <= g { return (max(1, most), g) }
        }
        return nil
    }

    /// Non-zeros actually stored (padding excluded).
    public var nonzeroCount: Int { values.reduce(0) { $1 != 0 ? $0 + 1 : $0 } }

    /// Bytes held: 4 per kept value + 1 per offset.
    public var bytes: Int { Self.bytes(rows: rows, columns: columns, keep: keep, group: group) }

    public static func bytes(rows: Int, columns: Int, keep: Int, group: Int) -> Int {
        rows * (columns / group * keep) * (MemoryLayout<Float>.size + MemoryLayout<UInt8>.size)
    }

    /// The dense row-major matrix, zeros included.
    public func densified() -> [Float] {
        var out = [Float](repeating: 0, count: rows * columns)
        let k = keptPerRow
        for r in 0..<rows {
            for j in 0..<k where values[r * k + j] != 0 {
                out[r * columns + Int(groupStart[j]) + Int(offsets[r * k + j])] = values[r * k + j]
            }
        }
        return out
    }

    /// y[n × rows] = x[n × columns] · Wᵀ (+ y when accumulate); kernels as for `CSRMatrix`,
    /// with a value's column = its group's first column + its offset.
    public func multiply(_ x: UnsafePointer<Float>, rows n: Int, into y: UnsafeMutablePointer<Float>, accumulate: Bool = false) {
        let k = keptPerRow
        groupStart.withUnsafeBufferPointer { gs in
            offsets.withUnsafeBufferPointer { o in
                values.withUnsafeBufferPointer { v in
                    let starts = gs.baseAddress!, offs = o.baseAddress!, vs = v.baseAddress!
                    if n == 1 {
                        if let (keepShift, groupShift) = shifts {
                            // Powers of two (2:4, 4:8, …): the group start is two shifts, no table load.
                            SparseProducts.vector(outputs: rows, work: rows * k, y: y, accumulate: accumulate) { r in
                                SparseProducts.gatherDot(values: vs + r * k, offsets: offs + r * k, count: k,
                                                         keepShift: keepShift, groupShift: groupShift, x: x)
                            }
                        } else {
                            SparseProducts.vector(outputs: rows, work: rows * k, y: y, accumulate: accumulate) { r in
                                SparseProducts.gatherDot(values: vs + r * k, offsets: offs + r * k, count: k,
                                                         groupStart: starts, x: x)
                            }
                        }
                        return
                    }
                    if Double(keep) > SparseProducts.densifyAboveDensity * Double(group) {
                        SparseProducts.densifiedProduct(outputs: rows, inputs: columns, tokens: n, x: x, y: y,
                                                        accumulate: accumulate) { r0, r1, w in
                            for r in r0..<r1 {
                                let dst = w + (r - r0) * columns, ro = offs + r * k, rv = vs + r * k
                                for j in 0..<k { dst[Int(starts[j]) + Int(ro[j])] = rv[j] }
                            }
                        }
                        return
                    }
                    let xT = SparseProducts.transposed(x, tokens: n, inputs: columns)
                    defer { xT.deallocate() }
                    SparseProducts.overRows(outputs: rows, work: rows * k * n, scratch: k) { r0, r1, cols in
                        for r in r0..<r1 {
                            let ro = offs + r * k
                            for j in 0..<k { cols[j] = starts[j] + Int32(ro[j]) }
                            SparseProducts.rowTimesTokens(values: vs + r * k, columns: cols, count: k, xT: xT, tokens: n,
                                                          y: y, row: r, outputs: rows, accumulate: accumulate)
                        }
                    }
                }
            }
        }
    }
}
