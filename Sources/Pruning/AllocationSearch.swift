import Compute
import Foundation

/// Settings of the EvoPress-like search over per-layer sparsities (`AllocationSearch`).
public struct AllocationSearchSettings: Codable, Sendable, Equatable {
    /// Generations of the (1 + λ) search.
    public var generations = 16
    /// Offspring λ per generation.
    public var offspring = 4
    /// Sparsity one mutation moves from one layer to another (one "level" of EvoPress's database).
    /// With step × (every pruned matrix's input width) whole numbers, the total pruned count is exactly
    /// the uniform allocation's.
    public var step = 1.0 / 32
    /// No layer moves further than this from the requested sparsity.
    public var maxDeviation = 0.125
    /// The last this-many calibration windows are held out: the fitness is the model's mean next-token
    /// loss on them, and the scores come from the others.
    public var heldOutWindows = 2
    public var seed: UInt64 = 0

    public init() {}

    public func validate(sparsity: Double) throws {
        guard generations >= 0, offspring >= 1 else { throw AllocationSearchError.budget(generations: generations, offspring: offspring) }
        guard step.isFinite, step > 0, maxDeviation.isFinite, maxDeviation >= 0,
              sparsity - maxDeviation >= 0, sparsity + maxDeviation < 1 else {
            throw AllocationSearchError.levels(step: step, maxDeviation: maxDeviation, sparsity: sparsity)
        }
        guard heldOutWindows >= 1 else { throw AllocationSearchError.heldOut(heldOutWindows, windows: nil) }
    }
}

/// Why the allocation search cannot run.
public enum AllocationSearchError: Error, CustomStringConvertible, Equatable {
    case budget(generations: Int, offspring: Int)
    case levels(step: Double, maxDeviation: Double, sparsity: Double)
    case heldOut(Int, windows: Int?)
    /// Layers whose prunable matrices differ in size: moving sparsity between them would change the total.
    case unequalLayers(Int, Int)
    /// A step that is not a whole number of weights per row of some matrix.
    case fractionalStep(step: Double, cols: Int)
    /// The allocation search needs element scores; this method has none.
    case method(PruneMethod)

    public var description: String {
        switch self {
        case .budget(let g, let o):
            return "the allocation search needs generations ≥ 0 and at least one offspring per generation, got \(g) and \(o)"
        case .levels(let st, let dev, let s):
            return "the allocation search's levels (step \(st), up to ±\(dev) around sparsity \(s)) must be positive and stay within [0, 1)"
        case .heldOut(let h, let w):
            return "the allocation search holds out \(h) calibration windows for its fitness\(w.map { " and scores with the rest, but there are only \($0)" } ?? "; it needs at least 1")"
        case .unequalLayers(let a, let b):
            return "the allocation search moves sparsity between layers of equal size so the total stays exact; layers \(a) and \(b) have different prunable matrices"
        case .fractionalStep(let st, let c):
            return "the allocation search's step \(st) is not a whole number of weights in a row of \(c) inputs; the total would drift (use a multiple of 1/\(c))"
        case .method(let m):
            return "the allocation search prunes each candidate from element scores; \(m.rawValue) has none (use wanda, ria, magnitude, …)"
        }
    }
}

/// EvoPress-like search over per-layer sparsity allocations that keeps the total (Sieberling et al.,
/// "EvoPress: Towards Optimal Dynamic Model Compression via Evolutionary Search", 2024), usable with
/// any score: each layer i sits at a level k_i, its sparsity s + k_i·step, with Σ k_i = 0 (the layers
/// have equal size, so the total pruned count is the uniform one); |k_i·step| ≤ maxDeviation.
///
/// Steps (EvoPress's level-switch mutation and (1 + λ) selection):
///  1. the parent starts uniform (all k_i = 0) and its fitness is measured;
///  2. each generation draws λ offspring, each by one level switch: a layer chosen uniformly moves one
///     level up and another (uniform among those that can) one level down, Σ k_i stays 0;
///  3. each offspring's fitness is measured (lower is better); the best offspring (ties: the first
///     drawn) replaces the parent if it is not worse.
/// EvoPress's multi-step selection (survivors re-scored on more tokens) is replaced by a single
/// evaluation on the same held-out windows, and its per-layer database by pruning each candidate from
/// the scores on the fly (the caller's `fitness`).
public enum AllocationSearch {
    public struct Outcome: Sendable, Equatable {
        /// Layer → sparsity.
        public var allocation: [Int: Double]
        /// The parent's fitness after each generation, starting with the uniform one.
        public var fitness: [Double]
    }

    /// Searches levels for `layers`; `fitness` is handed a layer → sparsity allocation.
    /// `afterGeneration` sees (generation, the parent's fitness, levels by layer) after each generation.
    public static func search(layers: [Int], sparsity: Double, settings: AllocationSearchSettings,
                              fitness: ([Int: Double]) throws -> Double,
                              afterGeneration: ((Int, Double, [Int: Int]) -> Void)? = nil) throws -> Outcome {
        try settings.validate(sparsity: sparsity)
        let maxLevel = Int((settings.maxDeviation / settings.step + 1e-9).rounded(.down))
        func allocation(_ k: [Int]) -> [Int: Double] {
            Dictionary(uniqueKeysWithValues: zip(layers, k.map { sparsity + Double($0) * settings.step }))
        }
        var parent = [Int](repeating: 0, count: layers.count)
        var best = try fitness(allocation(parent))
        var history = [best]
        var rng = SeededRNG(seed: settings.seed)
        for g in 0..<settings.generations where layers.count >= 2 && maxLevel > 0 {
            var champion: (levels: [Int], fitness: Double)?
            for _ in 0..<settings.offspring {
                var child = parent
                let ups = layers.indices.filter { child[$0] < maxLevel }
                guard !ups.isEmpty else { break }
                let up = ups[Int(rng.next() % UInt64(ups.count))]
                let downs = layers.indices.filter { $0 != up && child[$0] > -maxLevel }
                guard !downs.isEmpty else { break }
                let down = downs[Int(rng.next() % UInt64(downs.count))]
                child[up] += 1; child[down] -= 1
                let f = try fitness(allocation(child))
                if champion == nil || f < champion!.fitness { champion = (child, f) }
            }
            if let c = champion, c.fitness <= best { parent = c.levels; best = c.fitness }
            history.append(best)
            afterGeneration?(g + 1, best, Dictionary(uniqueKeysWithValues: zip(layers, parent)))
        }
        return Outcome(allocation: allocation(parent), fitness: history)
    }
}
