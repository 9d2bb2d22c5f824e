import Compute
import Foundation

/// Settings of the (1+1)-ES mask search (`EvolutionaryMaskSearch`).
public struct EvolutionarySearchSettings: Codable, Sendable, Equatable {
    /// The method whose mask the search starts from: a score-based method without gradients
    /// (wanda, ria, magnitude, entropy, random) or sparsegpt.
    public var initial: PruneMethod = .wanda
    /// Generations (parent → child → selection rounds) per matrix; 0 leaves the initial mask.
    public var generations = 100
    /// Seeds the mutations; with the same seed, settings and inputs the mask is the same.
    public var seed: UInt64 = 0
    /// f₀: the expected share of a comparison group's weights flipped in each direction in the
    /// first generation. The per-weight rates are m1 = f/S (pruned → kept) and m2 = f/(1−S)
    /// (kept → pruned), so m1·S = m2·(1−S) = f and the expected sparsity stays S.
    public var flipRate = 0.005
    /// f is multiplied by this after every generation …
    public var rateDecay = 0.97
    /// … down to this floor.
    public var rateFloor = 0.001
    /// Share of the calibration windows (the last ⌊n·share⌋) held out: the search measures its fitness on
    /// the others, and a child is kept only if it is not worse on the held-out windows either. 0: none.
    public var heldOutShare = 0.25
    /// Generations of the whole-model search (`WholeModelMaskSearch`) after the layer-wise pruning:
    /// fitness = the model's calibration loss on the search windows (and not worse on the held-out
    /// ones). 0: none.
    public var modelGenerations = 0

    public init() {}

    /// Refuses settings the search cannot run with.
    public func validate() throws {
        guard generations >= 0, modelGenerations >= 0 else {
            throw EvolutionarySearchError.negativeGenerations(min(generations, modelGenerations))
        }
        guard flipRate.isFinite, rateFloor.isFinite, rateFloor > 0, rateFloor <= flipRate, flipRate <= 1 else {
            throw EvolutionarySearchError.flipRates(initial: flipRate, floor: rateFloor)
        }
        guard rateDecay.isFinite, rateDecay > 0, rateDecay <= 1 else { throw EvolutionarySearchError.rateDecay(rateDecay) }
        guard heldOutShare >= 0, heldOutShare < 1 else { throw EvolutionarySearchError.heldOutShare(heldOutShare) }
        guard Self.initialMethods.contains(initial) else { throw EvolutionarySearchError.initialMethod(initial) }
    }

    /// The methods whose masks the search can start from.
    public static let initialMethods: [PruneMethod] = [.wanda, .ria, .magnitude, .entropy, .random, .sparsegpt]
}

/// Why the mask search cannot run.
public enum EvolutionarySearchError: Error, CustomStringConvertible, Equatable {
    case negativeGenerations(Int)
    case flipRates(initial: Double, floor: Double)
    case rateDecay(Double)
    case heldOutShare(Double)
    case initialMethod(PruneMethod)
    /// The inputs' sizes disagree (what was expected, what was given).
    case shape(String)
    /// The initial mask does not have exactly n pruned in a block of m (row, block).
    case initialMaskNotNOfM(row: Int, block: Int, pruned: Int, n: Int, m: Int)

    public var description: String {
        switch self {
        case .negativeGenerations(let g):
            return "the evolutionary mask search needs a number of generations ≥ 0, got \(g)"
        case .flipRates(let f, let floor):
            return "the evolutionary mask search's flip rate must start in (0, 1] and decay to a floor in (0, start]; got start \(f), floor \(floor)"
        case .rateDecay(let d):
            return "the evolutionary mask search's per-generation rate decay must be in (0, 1], got \(d)"
        case .heldOutShare(let h):
            return "the evolutionary mask search's held-out share of the calibration windows must be in [0, 1), got \(h)"
        case .initialMethod(let m):
            return "the evolutionary mask search starts from the mask of wanda, ria, magnitude, entropy, random or sparsegpt, not \(m.rawValue)\(m.needsGradients ? " (gradient scores are taken before layer-wise pruning and are not wired into the search)" : "")"
        case .shape(let why):
            return "evolutionary mask search: \(why)"
        case .initialMaskNotNOfM(let r, let b, let k, let n, let m):
            return "evolutionary mask search: the initial mask prunes \(k) weights in block \(b) of row \(r), not the \(n) of every \(m) that the N:M pattern asks"
        }
    }
}

/// The comparison groups whose pruned counts the search keeps exact.
public enum MaskGroups: Sendable, Equatable {
    /// Each output row: its pruned count stays what the initial mask has. That is the exact count of
    /// a per-row comparison group, and it keeps a per-layer (or global) group's total exact as well.
    case rows
    /// N:M along the inputs: exactly n pruned in every block of m consecutive positions of each row.
    /// Positions follow `permutation` (position p holds input channel permutation[p]; nil = identity),
    /// so the blocks of RIA's channel permutation are the blocks the search keeps.
    case nOfM(n: Int, m: Int, permutation: [Int]?)
}

/// What one search did to one matrix.
public struct EvolutionarySearchOutcome: Sendable, Equatable {
    /// Generations run.
    public var generations: Int
    /// Reconstruction error Σ_r (ŵ_r − w_r)·H·(ŵ_r − w_r)ᵀ of the initial and the final mask
    /// (H = 2XᵀX/n, so this is 2/n · ‖(Ŵ − W)·Xᵀ‖²_F over the calibration inputs X).
    public var initialError: Double
    public var finalError: Double
    /// Children kept (one per row and generation at most).
    public var acceptedChildren: Int
    /// Mask positions that differ from the initial mask at the end.
    public var changedWeights: Int
    /// The errors with the held-out windows' Hessian (nil: none given).
    public var initialHeldOutError: Double? = nil
    public var finalHeldOutError: Double? = nil
}

/// The searches of a run, summed over its matrices (the run record's `evolutionary_search`).
public struct EvolutionarySearchSummary: Codable, Sendable, Equatable {
    public var matrices = 0
    /// Generations per matrix.
    public var generations = 0
    /// Σ over matrices of the reconstruction error before and after the search (each matrix's error in
    /// the units of its own input Hessian, so only the ratio is comparable across models).
    public var initialError = 0.0
    public var finalError = 0.0
    public var acceptedChildren = 0
    public var changedWeights = 0
    /// The same errors on the held-out calibration windows (nil: none were held out).
    public var initialHeldOutError: Double?
    public var finalHeldOutError: Double?

    public init() {}

    mutating func add(_ o: EvolutionarySearchOutcome) {
        matrices += 1
        generations = o.generations
        initialError += o.initialError
        finalError += o.finalError
        acceptedChildren += o.acceptedChildren
        changedWeights += o.changedWeights
        if let a = o.initialHeldOutError, let b = o.finalHeldOutError {
            initialHeldOutError = (initialHeldOutError ?? 0) + a
            finalHeldOutError = (finalHeldOutError ?? 0) + b
        }
    }

    enum CodingKeys: String, CodingKey {
        case matrices, generations, initialError = "initial_error", finalError = "final_error"
        case acceptedChildren = "accepted_children", changedWeights = "changed_weights"
        case initialHeldOutError = "initial_held_out_error", finalHeldOutError = "final_held_out_error"
    }
}

/// Layer-wise (1+1) evolution strategy over a pruning mask at an exact sparsity, after the seed
/// description of the RIA/N:M report's mask search: start from another method's mask; each generation
/// mutate the parent by flipping kept↔pruned weights with rates m1 (pruned → kept, the mask's 1 → 0)
/// and m2 (kept → pruned, 0 → 1) where m1·S = m2·(1−S), so the expected sparsity stays S; restore the
/// exact count of every comparison group (and every N:M block) before evaluating; the flips are guided
/// by the weights' scores; the rates decay per generation down to a floor; the child replaces the
/// parent if its fitness is not worse.
///
/// Fitness: the layer's output reconstruction error on the calibration activations,
/// ‖Ŵ·Xᵀ − W·Xᵀ‖² ∝ Σ_r Δ_r·H·Δ_rᵀ with Δ = Ŵ − W and the Gram/Hessian H = 2XᵀX/n that SparseGPT
/// accumulates (cheaper than X itself: cols² numbers instead of tokens × cols). Ŵ is the masked
/// `values` (the dense weights for score methods; SparseGPT's updated weights where it kept, the
/// dense weights where it pruned, so a regrown weight returns with its dense value).
///
/// Steps of one generation, for each row r independently (its error term depends only on its own
/// weights and its comparison groups lie inside it, so selecting per row is the (1+1)-ES applied to
/// each row's sub-problem and the layer's total error never rises):
///  1. rate f = max(floor, f₀·decay^t); per group of sparsity S, m1 = min(1, f/S), m2 = min(1, f/(1−S));
///  2. score guidance: ρ = (rank of the weight's score in its group + ½)/size (ascending, ties by
///     position); a pruned weight flips with probability m1·(0.1 + 0.9·clamp(2ρ/S, 0, 2)), a kept
///     one with m2·(0.1 + 0.9·clamp(2(1−ρ)/(1−S), 0, 2)) — both factors average 1 over a mask that
///     prunes the lowest scores, so high-score pruned and low-score kept weights (those at the
///     boundary) move most, and the 0.1 leaves every weight a chance whatever the start's scores say;
///     drawn by geometric skips at the largest candidate rate (2·max(m1, m2)) and thinned to these
///     probabilities;
///  3. repair, per group: while it has more pruned than its count, regrow its pruned weight with the
///     highest score that this generation did not flip; while fewer, prune its kept weight with the
///     lowest score not flipped (ties: lower position); if none is left, undo the generation's last
///     flip of that group in the excess direction;
///  4. fitness change of the child: with g = H·Δ_rᵀ and δ the change of Δ_r at the changed
///     columns (+v_j regrown, −v_j pruned), Δe = 2·δ·g + δ·H·δ; keep the child iff Δe ≤ 0
///     (not worse: equal children are kept, as the (1+1)-ES), then g += H·δ. With held-out
///     calibration windows (their own H′ and g′), the child must also be not worse there (Δe′ ≤ 0):
///     the search's H is estimated from few tokens, and a change that only fits their noise is refused.
/// Weights whose value is 0 are never flipped, so the matrix's zero count stays that of the initial
/// mask (DESIGN.md §5 counts every zero). Each row draws from its own `SeededRNG` stream
/// (seed, `stream`, row), so the mask does not depend on the thread count.
public enum EvolutionaryMaskSearch {
    /// Searches `mask` (true = pruned; rows × cols, row-major) in place and returns what it did.
    /// `dense` is W, `values` the weights a kept position takes (nil: `dense`), `hessian` H
    /// (cols × cols), `heldOutHessian` the held-out windows' (nil: none), `scores` the initial method's
    /// scores (higher = keep). `afterGeneration` sees (generations done, the mask, the summed error) after
    /// every generation.
    public static func search(mask: inout [Bool], dense: [Float], values: [Float]? = nil, rows: Int, cols: Int,
                              hessian: [Float], heldOutHessian: [Float]? = nil, scores: [Float], groups: MaskGroups,
                              settings: EvolutionarySearchSettings, stream: UInt64 = 0,
                              afterGeneration: ((Int, [Bool], Double) -> Void)? = nil) throws -> EvolutionarySearchOutcome {
        try settings.validate()
        let n = rows * cols
        guard rows > 0, cols > 0, mask.count == n, dense.count == n, scores.count == n, (values?.count ?? n) == n else {
            throw EvolutionarySearchError.shape("mask, weights and scores must all hold \(rows) × \(cols) values")
        }
        guard hessian.count == cols * cols, (heldOutHessian?.count ?? cols * cols) == cols * cols else {
            throw EvolutionarySearchError.shape("a Hessian holds \(hessian.count) or \(heldOutHessian?.count ?? 0) values, not \(cols) × \(cols)")
        }
        let values = values ?? dense
        let layout = try MaskLayout(mask: mask, rows: rows, cols: cols, scores: scores, groups: groups)
        let order = layout.order, rank = layout.rank, target = layout.target, blockSize = layout.blockSize
        var state = RowState(rows: rows, cols: cols)
        state.initialize(mask: mask, dense: dense, values: values, hessian: hessian)
        let initialError = state.error.reduce(0, +)
        let heldOut = heldOutHessian ?? []
        var heldOutState = RowState(rows: heldOutHessian == nil ? 0 : rows, cols: cols)
        if heldOutHessian != nil { heldOutState.initialize(mask: mask, dense: dense, values: values, hessian: heldOut) }
        let initialHeldOutError = heldOutHessian.map { _ in heldOutState.error.reduce(0, +) }
        var accepted = [Int](repeating: 0, count: rows)
        var rngs = (0..<rows).map { SeededRNG(seed: streamSeed(settings.seed, stream, UInt64($0))) }
        let initialMask = mask
        var f = settings.flipRate
        for t in 0..<settings.generations {
            let context = GenerationContext(rate: max(settings.rateFloor, f), cols: cols, blockSize: blockSize)
            mask.withUnsafeMutableBufferPointer { mb in
                state.withPointers { g, e in
                  heldOutState.withPointers { hg, he in
                   heldOut.withUnsafeBufferPointer { hhb in
                    rngs.withUnsafeMutableBufferPointer { rb in
                        accepted.withUnsafeMutableBufferPointer { ab in
                            order.withUnsafeBufferPointer { ob in
                                rank.withUnsafeBufferPointer { kb in
                                    values.withUnsafeBufferPointer { vb in
                                        scores.withUnsafeBufferPointer { sb in
                                            hessian.withUnsafeBufferPointer { hb in
                                                target.withUnsafeBufferPointer { tb in
                                                    let m = MaskPointers(mask: mb.baseAddress!, order: ob.baseAddress!, rank: kb.baseAddress!,
                                                                         values: vb.baseAddress!, scores: sb.baseAddress!, target: tb.baseAddress!)
                                                    let p = Pointers(mutation: m, g: g!, error: e!, hessian: hb.baseAddress!,
                                                                     heldOutG: hg, heldOutError: he,
                                                                     heldOutHessian: heldOutHessian == nil ? nil : hhb.baseAddress)
                                                    parallelFor(rows, minPerThread: 4) { r0, r1 in
                                                        var scratch = Scratch(cols: cols)
                                                        for r in r0..<r1 {
                                                            if generation(row: r, context, p, &rb[r], &scratch) { ab[r] += 1 }
                                                        }
                                                    }
                                                }
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                   }
                  }
                }
            }
            f *= settings.rateDecay
            if let afterGeneration { afterGeneration(t + 1, mask, state.error.reduce(0, +)) }
        }
        // The final error from scratch (not the running sums), so rounding in the updates cannot flatter it.
        var final = RowState(rows: rows, cols: cols)
        final.initialize(mask: mask, dense: dense, values: values, hessian: hessian)
        var changed = 0
        for i in 0..<n where mask[i] != initialMask[i] { changed += 1 }
        var finalHeldOutError: Double?
        if let heldOutHessian {
            finalHeldOutError = reconstructionError(mask: mask, dense: dense, values: values, rows: rows, cols: cols, hessian: heldOutHessian)
        }
        return EvolutionarySearchOutcome(generations: settings.generations, initialError: initialError,
                                         finalError: final.error.reduce(0, +),
                                         acceptedChildren: accepted.reduce(0, +), changedWeights: changed,
                                         initialHeldOutError: initialHeldOutError, finalHeldOutError: finalHeldOutError)
    }

    /// Σ_r Δ_r·H·Δ_rᵀ of a mask (Δ = masked values − dense): the search's fitness, from scratch.
    public static func reconstructionError(mask: [Bool], dense: [Float], values: [Float]? = nil, rows: Int, cols: Int,
                                           hessian: [Float]) -> Double {
        var s = RowState(rows: rows, cols: cols)
        s.initialize(mask: mask, dense: dense, values: values ?? dense, hessian: hessian)
        return s.error.reduce(0, +)
    }

    /// One SplitMix-mixed seed per (seed, matrix stream, row).
    static func streamSeed(_ seed: UInt64, _ stream: UInt64, _ row: UInt64) -> UInt64 {
        var a = SeededRNG(seed: seed)
        var b = SeededRNG(seed: a.next() ^ stream)
        var c = SeededRNG(seed: b.next() ^ row)
        return c.next()
    }

    /// ρ of every weight, stored by (row, position): (rank of its score among its group + ½) / group size,
    /// ascending, ties by position (`MaskSelection`'s key order).
    static func guidanceRanks(scores: [Float], rows: Int, cols: Int, order: [Int], blockSize: Int) -> [Float] {
        var rank = [Float](repeating: 0, count: rows * cols)
        scores.withUnsafeBufferPointer { sb in
            rank.withUnsafeMutableBufferPointer { rb in
                let s = sb.baseAddress!, out = rb.baseAddress!
                parallelRows(rows) { r in
                    var keys = [UInt64](repeating: 0, count: blockSize)
                    var b = 0
                    while b < cols {
                        for q in 0..<blockSize {
                            keys[q] = UInt64(MaskSelection.orderedBits(s[r * cols + order[b + q]])) << 32 | UInt64(q)
                        }
                        keys.sort()
                        for (k, key) in keys.enumerated() {
                            out[r * cols + b + Int(key & 0xFFFF_FFFF)] = (Float(k) + 0.5) / Float(blockSize)
                        }
                        b += blockSize
                    }
                }
            }
        }
        return rank
    }

    /// Per row: g = H·Δ_rᵀ (double) and the row's error Δ_r·g.
    struct RowState {
        let rows: Int, cols: Int
        var g: [Double]
        var error: [Double]

        init(rows: Int, cols: Int) {
            self.rows = rows; self.cols = cols
            g = [Double](repeating: 0, count: rows * cols)
            error = [Double](repeating: 0, count: rows)
        }

        /// Δ = masked values − dense; G = Δ·H by sgemm over row slices (cut independently of the
        /// thread count), then the row errors in double.
        mutating func initialize(mask: [Bool], dense: [Float], values: [Float], hessian: [Float]) {
            let rows = rows, cols = cols
            var delta = [Float](repeating: 0, count: rows * cols)
            for i in delta.indices { delta[i] = (mask[i] ? 0 : values[i]) - dense[i] }
            var product = [Float](repeating: 0, count: rows * cols)
            delta.withUnsafeBufferPointer { db in
                hessian.withUnsafeBufferPointer { hb in
                    product.withUnsafeMutableBufferPointer { pb in
                        let d = db.baseAddress!, h = hb.baseAddress!, out = pb.baseAddress!
                        parallelPartitions(rows, minPerPart: 16) { r0, r1 in
                            BLAS.sgemm(m: r1 - r0, n: cols, k: cols, a: d + r0 * cols, lda: cols, b: h, ldb: cols,
                                       c: out + r0 * cols, ldc: cols)
                        }
                    }
                }
            }
            for i in g.indices { g[i] = Double(product[i]) }
            for r in 0..<rows {
                var e = 0.0
                for j in 0..<cols { e += Double(delta[r * cols + j]) * g[r * cols + j] }
                error[r] = e
            }
        }

        mutating func withPointers(_ body: (UnsafeMutablePointer<Double>?, UnsafeMutablePointer<Double>?) -> Void) {
            g.withUnsafeMutableBufferPointer { gb in
                error.withUnsafeMutableBufferPointer { eb in body(gb.baseAddress, eb.baseAddress) }
            }
        }
    }

    struct GenerationContext {
        let rate: Double
        let cols: Int
        let blockSize: Int
    }

    /// What mutation and repair (steps 1–3) read and write: the mask and the fixed per-matrix layout.
    struct MaskPointers: @unchecked Sendable {
        let mask: UnsafeMutablePointer<Bool>
        let order: UnsafePointer<Int>
        let rank: UnsafePointer<Float>
        let values: UnsafePointer<Float>
        let scores: UnsafePointer<Float>
        let target: UnsafePointer<Int>
    }

    struct Pointers: @unchecked Sendable {
        /// The mask and the layout (what mutation and repair need).
        let mutation: MaskPointers
        /// Per row g = H·Δ_rᵀ and the row errors, and H.
        let g: UnsafeMutablePointer<Double>
        let error: UnsafeMutablePointer<Double>
        let hessian: UnsafePointer<Float>
        /// The held-out windows' g′, row errors and H′ (nil: none).
        let heldOutG: UnsafeMutablePointer<Double>?
        let heldOutError: UnsafeMutablePointer<Double>?
        let heldOutHessian: UnsafePointer<Float>?
    }

    /// A worker's buffers, reused for every row it handles.
    struct Scratch {
        /// Positions changed this generation (mutation, then repair), ascending within a group.
        var changed: [Int]
        /// Whether each position of the row changed this generation.
        var flipped: [Bool]
        init(cols: Int) {
            changed = []
            changed.reserveCapacity(cols)
            flipped = [Bool](repeating: false, count: cols)
        }
    }

    /// One generation of row r: mutate, repair, evaluate, select. Returns whether the child was kept.
    static func generation(row r: Int, _ c: GenerationContext, _ p: Pointers, _ rng: inout SeededRNG,
                           _ s: inout Scratch) -> Bool {
        guard mutate(row: r, c, p.mutation, &rng, &s) else { return false }
        let cols = c.cols
        let mask = p.mutation.mask + r * cols
        // 4. Δe = 2·δ·g + δ·H·δ over the columns that differ from the parent (`flipped`; a flip undone
        //    by the repair stays listed but unmarked).
        let g = p.g + r * cols
        var linear = 0.0, quadratic = 0.0
        for a in s.changed where s.flipped[a] {
            let ca = p.mutation.order[a]
            let da = mask[ca] ? -Double(p.mutation.values[r * cols + ca]) : Double(p.mutation.values[r * cols + ca])
            linear += da * g[ca]
            let h = p.hessian + ca * cols
            for b in s.changed where s.flipped[b] {
                let cb = p.mutation.order[b]
                let db = mask[cb] ? -Double(p.mutation.values[r * cols + cb]) : Double(p.mutation.values[r * cols + cb])
                quadratic += da * db * Double(h[cb])
            }
        }
        let change = 2 * linear + quadratic
        var keep = change <= 0
        var heldOutChange = 0.0
        if keep, let hh = p.heldOutHessian, let hg = p.heldOutG {
            let g2 = hg + r * cols
            var l2 = 0.0, q2 = 0.0
            for a in s.changed where s.flipped[a] {
                let ca = p.mutation.order[a]
                let da = mask[ca] ? -Double(p.mutation.values[r * cols + ca]) : Double(p.mutation.values[r * cols + ca])
                l2 += da * g2[ca]
                let h = hh + ca * cols
                for b in s.changed where s.flipped[b] {
                    let cb = p.mutation.order[b]
                    let db = mask[cb] ? -Double(p.mutation.values[r * cols + cb]) : Double(p.mutation.values[r * cols + cb])
                    q2 += da * db * Double(h[cb])
                }
            }
            heldOutChange = 2 * l2 + q2
            keep = heldOutChange <= 0
        }
        for a in s.changed where s.flipped[a] {
            let ca = p.mutation.order[a]
            if keep {
                let da = mask[ca] ? -Double(p.mutation.values[r * cols + ca]) : Double(p.mutation.values[r * cols + ca])
                let h = p.hessian + ca * cols
                for k in 0..<cols { g[k] += da * Double(h[k]) }
                if let hh = p.heldOutHessian, let hg = p.heldOutG {
                    let h2 = hh + ca * cols, g2 = hg + r * cols
                    for k in 0..<cols { g2[k] += da * Double(h2[k]) }
                }
            } else {
                mask[ca].toggle()
            }
        }
        for a in s.changed { s.flipped[a] = false }
        if keep {
            p.error[r] += change
            p.heldOutError?[r] += heldOutChange
        }
        return keep
    }

    /// Steps 1–3 for row r: mutate the parent's mask, then repair every group the mutation touched
    /// to its exact count. Leaves the changed positions in `s.changed` (those that differ from the
    /// parent marked in `s.flipped`); false if nothing changed.
    static func mutate(row r: Int, _ c: GenerationContext, _ p: MaskPointers, _ rng: inout SeededRNG,
                       _ s: inout Scratch) -> Bool {
        let cols = c.cols, bs = c.blockSize, groups = cols / bs
        let mask = p.mask + r * cols
        // Candidate rate: the largest per-weight rate times the largest guidance factor (2), thinned below.
        var maxRate = 0.0
        for b in 0..<groups {
            let k = p.target[r * groups + b]
            if k == 0 || k == bs { continue }
            let sp = Double(k) / Double(bs)
            maxRate = max(maxRate, min(1, c.rate / sp), min(1, c.rate / (1 - sp)))
        }
        if maxRate == 0 { return false }
        let q = min(1, 2 * maxRate)
        let logSkip = q < 1 ? Foundation.log(1 - q) : 0
        s.changed.removeAll(keepingCapacity: true)
        // 1–2. Mutation: geometric skips over positions, thinned to each weight's probability.
        var pos = -1
        while true {
            if q >= 1 { pos += 1 } else {
                let u = Double((rng.next() >> 11) + 1) * (1.0 / 9_007_199_254_740_992.0)   // (0, 1]
                pos += 1 + Int(Foundation.log(u) / logSkip)
            }
            if pos >= cols { break }
            let col = p.order[pos]
            let v = p.values[r * cols + col]
            if v == 0 { continue }                      // frozen: flipping a zero changes no count of zeros
            let k = p.target[r * groups + pos / bs]
            if k == 0 || k == bs { continue }
            let sp = Double(k) / Double(bs)
            let rho = Double(p.rank[r * cols + pos])
            let prob: Double
            if mask[col] {
                prob = min(1, c.rate / sp) * (0.1 + 0.9 * min(2, max(0, 2 * rho / sp)))
            } else {
                prob = min(1, c.rate / (1 - sp)) * (0.1 + 0.9 * min(2, max(0, 2 * (1 - rho) / (1 - sp))))
            }
            let u = Double(rng.next() >> 11) * (1.0 / 9_007_199_254_740_992.0)
            if u * q < prob {
                mask[col].toggle()
                s.flipped[pos] = true
                s.changed.append(pos)
            }
        }
        if s.changed.isEmpty { return false }
        // 3. Repair every group the mutation touched to its exact pruned count.
        let mutated = s.changed.count
        var i = 0
        while i < mutated {
            let b = s.changed[i] / bs
            var j = i
            while j < mutated && s.changed[j] / bs == b { j += 1 }
            repair(row: r, block: b, flipsFrom: i, to: j, c, p, &s)
            i = j
        }
        return true
    }

    /// Step 3 for one group: flips [from, to) of `s.changed` lie in block b of row r.
    static func repair(row r: Int, block b: Int, flipsFrom from: Int, to: Int, _ c: GenerationContext, _ p: MaskPointers,
                       _ s: inout Scratch) {
        let cols = c.cols, bs = c.blockSize
        let mask = p.mask + r * cols
        var excess = -p.target[r * (cols / bs) + b]
        for pos in (b * bs)..<((b + 1) * bs) where mask[p.order[pos]] { excess += 1 }
        while excess != 0 {
            // Too many pruned: regrow the highest-score pruned weight not flipped; too few: prune the
            // lowest-score kept one. Scores compared as `MaskSelection` orders them; ties: lower position.
            let regrow = excess > 0
            var best = -1
            var bestKey: UInt32 = 0
            for pos in (b * bs)..<((b + 1) * bs) {
                let col = p.order[pos]
                guard mask[col] == regrow, !s.flipped[pos], p.values[r * cols + col] != 0 else { continue }
                let key = MaskSelection.orderedBits(p.scores[r * cols + col])
                if best < 0 || (regrow ? key > bestKey : key < bestKey) { best = pos; bestKey = key }
            }
            if best < 0 {
                // No candidate left: undo this group's last flip in the excess direction.
                var k = to - 1
                while k >= from && (mask[p.order[s.changed[k]]] != regrow || !s.flipped[s.changed[k]]) { k -= 1 }
                guard k >= from else { return }      // unreachable: the excess came from such flips
                mask[p.order[s.changed[k]]].toggle()
                s.flipped[s.changed[k]] = false      // back to the parent's state: listed, not marked

            } else {
                mask[p.order[best]].toggle()
                s.flipped[best] = true
                s.changed.append(best)
            }
            excess += regrow ? -1 : 1
        }
    }
}

/// A matrix's fixed search layout: the position order of its inputs (RIA's permutation or the
/// identity), the group size (a row, or an N:M block), each weight's guidance rank ρ and each
/// group's exact pruned count, taken from the initial mask (which must be N:M where asked).
struct MaskLayout {
    var order: [Int]          // position → column
    var blockSize: Int
    var rank: [Float]
    var target: [Int]

    init(mask: [Bool], rows: Int, cols: Int, scores: [Float], groups: MaskGroups) throws {
        order = Array(0..<cols)
        blockSize = cols
        if case .nOfM(let bn, let bm, let perm) = groups {
            guard bn > 0, bm > bn, cols % bm == 0 else {
                throw EvolutionarySearchError.shape("\(bn):\(bm) blocks need 0 < n < m and m dividing the \(cols) inputs")
            }
            if let perm {
                guard perm.count == cols, Set(perm).count == cols, perm.allSatisfy({ $0 >= 0 && $0 < cols }) else {
                    throw EvolutionarySearchError.shape("the channel permutation is not a permutation of 0..<\(cols)")
                }
                order = perm
            }
            blockSize = bm
            for r in 0..<rows {
                for b in 0..<(cols / bm) {
                    var k = 0
                    for p in (b * bm)..<((b + 1) * bm) where mask[r * cols + order[p]] { k += 1 }
                    if k != bn { throw EvolutionarySearchError.initialMaskNotNOfM(row: r, block: b, pruned: k, n: bn, m: bm) }
                }
            }
        }
        // Per row: the pruned count of every group is fixed; S per group.
        target = [Int](repeating: 0, count: rows * (cols / blockSize))
        for r in 0..<rows {
            for b in 0..<(cols / blockSize) {
                var k = 0
                for p in (b * blockSize)..<((b + 1) * blockSize) where mask[r * cols + order[p]] { k += 1 }
                target[r * (cols / blockSize) + b] = k
            }
        }
        rank = EvolutionaryMaskSearch.guidanceRanks(scores: scores, rows: rows, cols: cols, order: order, blockSize: blockSize)
    }
}
