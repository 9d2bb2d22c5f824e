import Compute

/// Input-channel permutation for N:M sparsity, after RIA (Zhang et al., "Plug-and-Play: An
/// Efficient Post-training Pruning Method for Large Language Models", ICLR 2024, sec. 3.3 /
/// "channel permutation"). N:M keeps the m−n largest scores of every group of m consecutive
/// inputs per row; reordering the inputs (the same order for every row, undone by permuting
/// the previous layer's outputs or the activations) changes which channels compete, and a
/// good order keeps more total score.
///
/// Procedure (the reference `prune_ria` with `--reallocation --lsa`, importance "sum"):
///  1. heuristic channel allocation: sort channels by their summed score (ascending); cut the
///     sorted list into m equal chunks; group g gets the g-th channel of every chunk, odd
///     chunks (2nd, 4th, …) taken in reverse so strong and weak channels mix;
///  2. linear-sum-assignment refinement: for each position c in 0..<m (one round each), and
///     each of `blocks` equal column blocks, score every (group r, group g) pair as the kept
///     score of group r when its c-th channel is swapped for group g's c-th channel, and
///     reassign the c-th channels by a maximum-weight assignment (`LinearSumAssignment`).
///
/// Deviations, for safety only: a round is accepted only if it does not lower the kept score
/// (the identity is feasible, so this only guards against float rounding in the pair scores),
/// and the final order is replaced by the identity if the identity keeps more score than it
/// (the heuristic allocation has no such guarantee). Hence keptScore(result) ≥ keptScore(nil).
public enum ChannelPermutation {
    /// A column order for `scores` [rows × cols] (row-major; higher = more important):
    /// `permutation[p]` is the original input channel placed at position p. Deterministic.
    /// `blocks` > 1 is the reference's `--fast` mode (LSA within column blocks).
    public static func compute(scores: [Float], rows: Int, cols: Int, n: Int, m: Int,
                               refine: Bool = true, blocks: Int = 1) throws -> [Int] {
        try validate(scores: scores, rows: rows, cols: cols, n: n, m: m)
        guard blocks > 0, cols % (m * blocks) == 0 else {
            throw PruningError.invalidSetting("channel permutation: input size \(cols) is not a multiple of M·blocks = \(m * blocks)")
        }
        var index = heuristicAllocation(scores: scores, rows: rows, cols: cols, m: m)
        // Column-major copy: channel c's scores over all rows are contiguous.
        var t = [Float](repeating: 0, count: rows * cols)
        for r in 0..<rows { for c in 0..<cols { t[c * rows + r] = scores[r * cols + c] } }
        var current = keptScore(scores: scores, rows: rows, cols: cols, n: n, m: m, permutation: index)
        if refine {
            for c in 0..<m {
                var next = index
                let blockLen = cols / blocks
                for b in 0..<blocks {
                    let local = Array(index[(b * blockLen)..<((b + 1) * blockLen)])
                    let idx = try lsaRound(columnMajor: t, rows: rows, channels: local, n: n, m: m, position: c)
                    for p in 0..<blockLen { next[b * blockLen + p] = local[idx[p]] }
                }
                let s = keptScore(scores: scores, rows: rows, cols: cols, n: n, m: m, permutation: next)
                if s >= current { index = next; current = s }
            }
        }
        let identity = keptScore(scores: scores, rows: rows, cols: cols, n: n, m: m, permutation: nil)
        return identity > current ? Array(0..<cols) : index
    }

    /// Step 1 only: RIA's heuristic channel allocation (importance = column sum).
    public static func heuristicAllocation(scores: [Float], rows: Int, cols: Int, m: Int) -> [Int] {
        var colSum = [Double](repeating: 0, count: cols)
        for r in 0..<rows { for c in 0..<cols { colSum[c] += Double(scores[r * cols + c]) } }
        let sorted = (0..<cols).sorted { colSum[$0] < colSum[$1] || (colSum[$0] == colSum[$1] && $0 < $1) }
        var index = [Int](repeating: 0, count: cols)
        for k in 1...m {
            let lo = cols * (k - 1) / m, hi = cols * k / m
            var chunk = Array(sorted[lo..<hi])
            if k % 2 == 0 { chunk.reverse() }
            for (g, ch) in chunk.enumerated() where (k - 1) + g * m < cols { index[(k - 1) + g * m] = ch }
        }
        return index
    }

    /// Total score kept by the N:M mask taken in `permutation` order (nil = identity):
    /// Σ over rows and groups of the m−n largest scores. Double accumulation.
    public static func keptScore(scores: [Float], rows: Int, cols: Int, n: Int, m: Int, permutation: [Int]?) -> Double {
        var total: Double = 0
        var g = [Float](repeating: 0, count: m)
        for r in 0..<rows {
            let row = r * cols
            var p0 = 0
            while p0 + m <= cols {
                for j in 0..<m { g[j] = scores[row + (permutation?[p0 + j] ?? (p0 + j))] }
                g.sort(by: >)
                for j in 0..<(m - n) { total += Double(g[j]) }
                p0 += m
            }
        }
        return total
    }

    /// The N:M mask (true = pruned) in the original column order, taken over the permuted
    /// order: per row and group of m permuted positions, the n smallest scores (ties: the
    /// earlier position). Equals the reference's `W_mask[:, index] = W_mask_permute`.
    public static func mask(scores: [Float], rows: Int, cols: Int, n: Int, m: Int, permutation: [Int]?) -> [Bool] {
        var mask = [Bool](repeating: false, count: rows * cols)
        var taken = [Bool](repeating: false, count: m)
        for r in 0..<rows {
            var p0 = 0
            while p0 + m <= cols {
                for j in 0..<m { taken[j] = false }
                for _ in 0..<n {
                    var best = -1
                    var bestV = Float.infinity
                    for j in 0..<m where !taken[j] {
                        let v = scores[r * cols + (permutation?[p0 + j] ?? (p0 + j))]
                        if best < 0 || v < bestV { best = j; bestV = v }
                    }
                    taken[best] = true
                    mask[r * cols + (permutation?[p0 + best] ?? (p0 + best))] = true
                }
                p0 += m
            }
        }
        return mask
    }

    /// One LSA round on a block of channels (given as original channel ids in current order).
    /// Returns the block-local index map idx (new position p takes old position idx[p]).
    static func lsaRound(columnMajor t: [Float], rows: Int, channels: [Int], n: Int, m: Int, position c: Int) throws -> [Int] {
        let groups = channels.count / m
        let keep = m - n
        // For group r without its c-th channel: A = sum of the top keep−1 other scores,
        // B = the keep-th largest other score; adding x keeps A + max(x, B).
        var a = [Float](repeating: 0, count: groups * rows)
        var b = [Float](repeating: 0, count: groups * rows)
        var score = [Double](repeating: 0, count: groups * groups)    // [r][g]
        a.withUnsafeMutableBufferPointer { ab in
        b.withUnsafeMutableBufferPointer { bb in
        t.withUnsafeBufferPointer { tb in
        score.withUnsafeMutableBufferPointer { sb in
            let ap = ab.baseAddress!, bp = bb.baseAddress!, tp = tb.baseAddress!, sp = sb.baseAddress!
            parallelFor(groups) { g0, g1 in
                var others = [Float](repeating: 0, count: m - 1)
                for r in g0..<g1 {
                    for row in 0..<rows {
                        var k = 0
                        for j in 0..<m where j != c { others[k] = tp[channels[r * m + j] * rows + row]; k += 1 }
                        others.sort(by: >)
                        var s: Float = 0
                        for j in 0..<(keep - 1) { s += others[j] }
                        ap[r * rows + row] = s
                        bp[r * rows + row] = others[keep - 1]
                    }
                }
            }
            parallelFor(groups) { r0, r1 in
                for r in r0..<r1 {
                    let arow = ap + r * rows, brow = bp + r * rows
                    var base: Double = 0
                    for row in 0..<rows { base += Double(arow[row]) }
                    for g in 0..<groups {
                        let x = tp + channels[g * m + c] * rows
                        var s: Double = 0
                        var row = 0
                        while row < rows {
                            let end = min(rows, row + 256)
                            var f: Float = 0
                            for k in row..<end { f += max(x[k], brow[k]) }
                            s += Double(f)
                            row = end
                        }
                        sp[r * groups + g] = base + s
                    }
                }
            }
        }}}}
        let assign = try LinearSumAssignment.solve(cost: score, rows: groups, cols: groups, maximize: true)
        var idx = Array(0..<channels.count)
        for r in 0..<groups { idx[r * m + c] = assign[r] * m + c }
        return idx
    }

    static func validate(scores: [Float], rows: Int, cols: Int, n: Int, m: Int) throws {
        guard n > 0, n < m else { throw PruningError.invalidSetting("channel permutation: N:M needs 0 < N < M, got \(n):\(m)") }
        guard rows > 0, cols > 0, scores.count == rows * cols else {
            throw PruningError.invalidSetting("channel permutation: scores have \(scores.count) values, expected \(rows)×\(cols)")
        }
        guard cols % m == 0 else {
            throw PruningError.invalidSetting("channel permutation: input size \(cols) is not a multiple of M = \(m)")
        }
        guard scores.allSatisfy({ $0.isFinite }) else {
            throw PruningError.numerical("channel permutation: scores have NaN or infinite values")
        }
    }
}
