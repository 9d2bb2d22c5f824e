import Compute

/// Which projections DSnoT leaves with their initial mask (the reference's `--skip_layer`).
public enum DSnoTSkip: String, CaseIterable, Codable, Sendable {
    /// Refine every projection.
    case none
    /// Leave gate/up/down (fc1/fc2) as the initial method pruned them — the reference default.
    case mlp
    /// Leave q/k/v/o as the initial method pruned them.
    case attention
}

/// DSnoT's settings, defaults as the reference's `main.py`.
public struct DSnoTSettings: Codable, Sendable, Equatable {
    /// The method whose mask DSnoT starts from (any score-based method).
    public var initial: PruneMethod = .wanda
    /// Swap rounds per output row (`--max_cycle_time` 50).
    public var maxCycles = 50
    /// A row stops once its expected reconstruction error is at most this (`--update_threshold` 0.1).
    public var updateThreshold = 0.1
    /// Regrowth candidates are ranked by contribution / variance^p (`--pow_of_var_regrowing` 1).
    public var varianceExponent = 1.0
    /// Stop a row when a swap would flip the sign of its error. The reference's
    /// `--without_same_sign` is a `type=bool` flag defaulting to True, so by default it does not check.
    public var sameSign = false
    public var skip: DSnoTSkip = .mlp

    public init() {}
}

/// DSnoT — Dynamic Sparse No Training (Zhang et al., ICLR 2024), unstructured: a training-free
/// prune-and-grow pass over an initial mask that keeps each row's sparsity exactly.
///
/// For output row r, pruning weight j changes the output by W_rj·x_j on average; with
/// s_j = E[Σ_t x_tj] (`ActivationMoments.columnSum`) the contribution is d_j = W_rj·s_j, and the
/// row's expected reconstruction error is ε = Σ_{j pruned} d_j (Eq. 4). While |ε| > threshold,
/// one pruned weight is regrown and one kept weight pruned per round (Eq. 5–7):
/// - regrow: among pruned weights, ranked by d_j / Var(x_j)^p, the largest if ε > 0 (it restores the
///   most output where the sparse output is too low), else the most negative;
/// - prune: among kept weights, ordered by ascending Wanda score, those with d_j < 0 first in that
///   order, then those with d_j > 0 in reverse; if ε < 0 the next from the end (a positive
///   contributor with a low Wanda score), else the next from the start (a negative one).
/// ε ← ε + d_prune − d_regrow. Each list is walked once (two pointers per list, as the reference).
///
/// Where this departs from the reference, in cases it does not guard: a row stops when the next
/// regrowth candidate's rank is 0 or of the unhelpful sign (the reference's sorted list holds the
/// kept weights there, with metric 0, and would "regrow" one of them — a kept weight — while
/// pruning another, changing the row's sparsity); kept
/// weights with d_j = 0 are never pruned by a swap (they cannot change ε); a zero-variance column
/// ranks its pruned weight at ±∞ by the sign of d_j (the reference divides by zero).
public enum DSnoT {
    /// Refines `mask` (true = pruned) of a rows × cols weight in place and returns the number of
    /// swaps made. `wanda` is Wanda's score |W|·√scaler of every weight.
    @discardableResult
    public static func refine(mask: inout [Bool], weight: [Float], rows: Int, cols: Int, wanda: [Float],
                              columnSum: [Double], variance: [Double], settings: DSnoTSettings) -> Int {
        precondition(mask.count == rows * cols && weight.count == rows * cols && wanda.count == rows * cols)
        precondition(columnSum.count == cols && variance.count == cols)
        var swaps = [Int](repeating: 0, count: rows)
        let p = settings.varianceExponent
        let varPow = variance.map { p == 1 ? $0 : Foundation.pow($0, p) }
        mask.withUnsafeMutableBufferPointer { mb in
            swaps.withUnsafeMutableBufferPointer { sb in
                let m = mb.baseAddress!, sw = sb.baseAddress!
                parallelRows(rows) { r in
                    sw[r] = refineRow(m + r * cols, weight: weight, row: r, cols: cols, wanda: wanda, columnSum: columnSum,
                                      varPow: varPow, settings: settings)
                }
            }
        }
        return swaps.reduce(0, +)
    }

    static func refineRow(_ mask: UnsafeMutablePointer<Bool>, weight: [Float], row r: Int, cols: Int, wanda: [Float],
                          columnSum: [Double], varPow: [Double], settings: DSnoTSettings) -> Int {
        let base = r * cols
        let d = (0..<cols).map { Double(weight[base + $0]) * columnSum[$0] }
        var error = 0.0
        for j in 0..<cols where mask[j] { error += d[j] }

        // Regrowth order: pruned weights by d / Var^p ascending (stable); kept weights excluded.
        func rank(_ j: Int) -> Double {
            if varPow[j] > 0 { return d[j] / varPow[j] }
            return d[j] > 0 ? .infinity : (d[j] < 0 ? -.infinity : 0)
        }
        let ranks = (0..<cols).map { mask[$0] ? rank($0) : 0 }
        let regrow = (0..<cols).filter { mask[$0] }.sorted { ranks[$0] != ranks[$1] ? ranks[$0] < ranks[$1] : $0 < $1 }
        // Prune order: kept weights by ascending Wanda score (stable), negatives then positives reversed.
        let kept = (0..<cols).filter { !mask[$0] }.sorted { wanda[base + $0] != wanda[base + $1] ? wanda[base + $0] < wanda[base + $1] : $0 < $1 }
        let prune = kept.filter { d[$0] < 0 } + kept.filter { d[$0] > 0 }.reversed()

        var gLo = 0, gHi = regrow.count - 1, pLo = 0, pHi = prune.count - 1
        let initialSign = error > 0 ? 1 : (error < 0 ? -1 : 0)
        var swaps = 0
        for _ in 0..<settings.maxCycles {
            guard abs(error) > settings.updateThreshold, gLo <= gHi, pLo <= pHi else { break }
            let g: Int
            if error > 0 { g = regrow[gHi]; gHi -= 1 } else { g = regrow[gLo]; gLo += 1 }
            // Past the pruned weights of the helpful sign lies the reference's zero region (kept weights).
            guard error > 0 ? ranks[g] > 0 : ranks[g] < 0 else { break }
            let q: Int
            if error < 0 { q = prune[pHi]; pHi -= 1 } else { q = prune[pLo]; pLo += 1 }
            let after = error + d[q] - d[g]
            if settings.sameSign && initialSign != (after > 0 ? 1 : (after < 0 ? -1 : 0)) { break }
            mask[q] = true
            mask[g] = false
            error = after
            swaps += 1
        }
        return swaps
    }
}

import Foundation
