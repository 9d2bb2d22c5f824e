/// Chooses which weights to remove from their importance scores (lower = less important).
/// Ties are broken by position (lower flat index pruned first), so the number removed is
/// always exactly the number requested and two runs give the same mask (DESIGN.md §5).
public enum MaskSelection {
    /// Flat indices of the `k` lowest of `count` scores starting at `scores`.
    static func lowest(_ scores: UnsafePointer<Float>, count: Int, k: Int) -> [Int] {
        if k <= 0 { return [] }
        if k >= count { return Array(0..<count) }
        // One UInt64 per weight, (order-preserving score bits, index): a plain integer sort
        // orders by score then position, several times faster than a comparator closure.
        var keys = [UInt64](repeating: 0, count: count)
        for i in 0..<count { keys[i] = UInt64(orderedBits(scores[i])) << 32 | UInt64(i) }
        keys.sort()
        return (0..<k).map { Int(keys[$0] & 0xFFFF_FFFF) }
    }

    /// The n lowest of m scores in `lowest`'s order (score bits, then position), by insertion sort
    /// of (bits, position) keys into a caller's buffer of m.
    @inline(__always)
    static func lowestByPosition(_ v: UnsafePointer<Float>, m: Int, n: Int, keys: UnsafeMutablePointer<UInt64>,
                                 into out: UnsafeMutablePointer<Int>) {
        for j in 0..<m {
            let key = UInt64(orderedBits(v[j])) << 32 | UInt64(j)
            var i = j
            while i > 0 && keys[i - 1] > key { keys[i] = keys[i - 1]; i -= 1 }
            keys[i] = key
        }
        for t in 0..<n { out[t] = Int(keys[t] & 0xFFFF_FFFF) }
    }

    /// Float bits mapped so that unsigned integer order equals numeric order (−0 < +0 aside).
    @inline(__always)
    static func orderedBits(_ f: Float) -> UInt32 {
        let b = f.bitPattern
        return b & 0x8000_0000 != 0 ? ~b : b | 0x8000_0000
    }

    /// How many of `count` weights a sparsity removes: ⌊count·s⌋, as the reference code does.
    public static func pruneCount(_ count: Int, sparsity: Double) -> Int {
        Int((Double(count) * sparsity).rounded(.down))
    }

    /// Unstructured mask (true = prune) with the comparison group = each output row.
    public static func perRow(scores: [Float], rows: Int, cols: Int, sparsity: Double) -> [Bool] {
        var mask = [Bool](repeating: false, count: rows * cols)
        let k = pruneCount(cols, sparsity: sparsity)
        scores.withUnsafeBufferPointer { s in
            mask.withUnsafeMutableBufferPointer { m in
                let mb = m.baseAddress!
                parallelRows(rows) { r in
                    for j in lowest(s.baseAddress! + r * cols, count: cols, k: k) { mb[r * cols + j] = true }
                }
            }
        }
        return mask
    }

    /// Unstructured mask with one comparison group for the whole matrix (or any flat set).
    public static func perMatrix(scores: [Float], sparsity: Double) -> [Bool] {
        var mask = [Bool](repeating: false, count: scores.count)
        let k = pruneCount(scores.count, sparsity: sparsity)
        scores.withUnsafeBufferPointer { s in
            for i in lowest(s.baseAddress!, count: scores.count, k: k) { mask[i] = true }
        }
        return mask
    }

    /// N:M mask: in every group of m consecutive inputs of a row, the n lowest are pruned.
    public static func nOfM(scores: [Float], rows: Int, cols: Int, n: Int, m: Int, ties: TieBreak = .position) throws -> [Bool] {
        guard cols % m == 0 else {
            throw PruningError.invalidSetting("\(n):\(m) needs the input width (\(cols)) to be a multiple of \(m)")
        }
        if ties == .torch && m > TorchTopKOrder.maxGroup {
            throw PruningError.invalidSetting("ties torch is implemented for groups of up to \(TorchTopKOrder.maxGroup) (got \(n):\(m))")
        }
        var mask = [Bool](repeating: false, count: rows * cols)
        scores.withUnsafeBufferPointer { s in
            mask.withUnsafeMutableBufferPointer { mb in
                let mp = mb.baseAddress!
                // Small per-row buffers: no allocation per group of m.
                parallelRows(rows) { r in
                    withUnsafeTemporaryAllocation(of: UInt64.self, capacity: m) { keys in
                        withUnsafeTemporaryAllocation(of: Int.self, capacity: n) { chosen in
                            let row = s.baseAddress! + r * cols
                            var g = 0
                            while g < cols {
                                if ties == .torch {
                                    TorchTopKOrder.lowest(row + g, m: m, n: n, into: chosen.baseAddress!)
                                } else {
                                    lowestByPosition(row + g, m: m, n: n, keys: keys.baseAddress!, into: chosen.baseAddress!)
                                }
                                for t in 0..<n { mp[r * cols + g + chosen[t]] = true }
                                g += m
                            }
                        }
                    }
                }
            }
        }
        return mask
    }
}

import Compute

@inline(__always)
func parallelRows(_ rows: Int, _ body: (Int) -> Void) {
    parallelFor(rows, minPerThread: 8) { a, b in for r in a..<b { body(r) } }
}
