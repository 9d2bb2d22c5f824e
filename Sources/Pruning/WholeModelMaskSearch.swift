import Compute
import Foundation
import LLM

/// What the whole-model mask search did (the run record's `whole_model_search`).
public struct WholeModelSearchOutcome: Codable, Sendable, Equatable {
    public var generations: Int
    /// Generations whose child replaced the parent.
    public var acceptedChildren: Int
    /// Mask positions that differ from the layer-wise masks at the end, over every matrix.
    public var changedWeights: Int
    /// Mean next-token loss (log perplexity) on the search windows before and after.
    public var initialLoss: Double
    public var finalLoss: Double
    /// The same on the held-out windows (nil: none were held out).
    public var initialHeldOutLoss: Double?
    public var finalHeldOutLoss: Double?

    enum CodingKeys: String, CodingKey {
        case generations, acceptedChildren = "accepted_children", changedWeights = "changed_weights"
        case initialLoss = "initial_loss", finalLoss = "final_loss"
        case initialHeldOutLoss = "initial_held_out_loss", finalHeldOutLoss = "final_held_out_loss"
    }
}

/// The whole-model variant of the (1+1)-ES mask search (the seed description's second fitness):
/// the masks of every pruned matrix are one individual, and its fitness is the model's mean
/// next-token loss on calibration windows — log perplexity — instead of one layer's
/// reconstruction error. It runs after the layer-wise pruning (and layer-wise search, if any),
/// from their masks.
///
/// Each generation t, with the rate f = max(floor, f₀·decay^t) of the layer-wise search:
///  1. one matrix is drawn (uniformly, from the search's seeded stream);
///  2. every row of it is mutated and repaired exactly as in the layer-wise search
///     (`EvolutionaryMaskSearch.mutate`: score-guided flips at m1·S = m2·(1−S) = f, then each
///     comparison group and N:M block restored to its exact pruned count, zeros never flipped);
///  3. the child's weights are written (a regrown weight takes its value from `values`) and its
///     loss measured on the search windows; it replaces the parent if that loss is not higher and,
///     with held-out windows, the held-out loss is not higher either; otherwise the flips and the
///     weights are put back.
/// A whole matrix per generation is one accept-or-reject decision, where the layer-wise search
/// decides per row; that is the price of a fitness that sees the whole model (a forward of every
/// search window per generation). The search is sequential, so the masks do not depend on the
/// thread count.
public enum WholeModelMaskSearch {
    /// One pruned matrix the search may change.
    public struct Matrix: Sendable {
        public var layer: Int
        public var projection: Projection
        /// rows × cols, row-major, true = pruned; the model's weights must be `values` masked by it.
        public var mask: [Bool]
        /// What a kept position holds (the dense weights, or SparseGPT's update where it kept).
        public var values: [Float]
        /// The start method's scores (higher = keep), which guide the flips.
        public var scores: [Float]
        public var groups: MaskGroups

        public init(layer: Int, projection: Projection, mask: [Bool], values: [Float], scores: [Float], groups: MaskGroups) {
            self.layer = layer; self.projection = projection; self.mask = mask; self.values = values
            self.scores = scores; self.groups = groups
        }
    }

    /// Runs `generations` generations on `matrices` (their masks are updated in place, and the model's
    /// weights with them). `afterGeneration` sees (generations done, current search loss).
    public static func search(model: LanguageModel, matrices: inout [Matrix], windows: [[Int32]], heldOut: [[Int32]] = [],
                              generations: Int, settings: EvolutionarySearchSettings,
                              afterGeneration: ((Int, Double) -> Void)? = nil) throws -> WholeModelSearchOutcome {
        try settings.validate()
        guard generations >= 0 else { throw EvolutionarySearchError.negativeGenerations(generations) }
        guard !matrices.isEmpty else { throw EvolutionarySearchError.shape("the whole-model search has no pruned matrix to search") }
        guard !windows.isEmpty else { throw PruningError.invalidSetting("the whole-model mask search needs calibration windows") }
        var layouts: [MaskLayout] = []
        for m in matrices {
            let lin = model.linear(m.projection, layer: m.layer)
            let n = lin.outFeatures * lin.inFeatures
            guard m.mask.count == n, m.values.count == n, m.scores.count == n else {
                throw EvolutionarySearchError.shape("layer \(m.layer)'s \(m.projection.rawValue): mask, values and scores must hold \(lin.outFeatures) × \(lin.inFeatures) values")
            }
            layouts.append(try MaskLayout(mask: m.mask, rows: lin.outFeatures, cols: lin.inFeatures, scores: m.scores, groups: m.groups))
        }
        func loss(_ w: [[Int32]]) throws -> Double {
            let l = try LayerRemovalLoss.meanLoss(model: model, windows: w, skipping: nil)
            guard l.isFinite else { throw PruningError.numerical("the whole-model mask search's calibration loss is not finite (\(l))") }
            return l
        }
        let initialMasks = matrices.map(\.mask)
        var current = try loss(windows)
        var currentHeldOut = heldOut.isEmpty ? nil : try loss(heldOut)
        var outcome = WholeModelSearchOutcome(generations: generations, acceptedChildren: 0, changedWeights: 0,
                                              initialLoss: current, finalLoss: current,
                                              initialHeldOutLoss: currentHeldOut, finalHeldOutLoss: currentHeldOut)
        var rng = SeededRNG(seed: EvolutionaryMaskSearch.streamSeed(settings.seed, 0x57_40DE1, 0))
        var f = settings.flipRate
        for t in 0..<generations {
            defer { f *= settings.rateDecay; afterGeneration?(t + 1, current) }
            let k = Int(rng.next() % UInt64(matrices.count))
            let parent = model.linear(matrices[k].projection, layer: matrices[k].layer)
            let rows = parent.outFeatures, cols = parent.inFeatures, layout = layouts[k]
            let context = EvolutionaryMaskSearch.GenerationContext(rate: max(settings.rateFloor, f), cols: cols, blockSize: layout.blockSize)
            var changed: [Int] = []       // flat indices that differ from the parent
            var scratch = EvolutionaryMaskSearch.Scratch(cols: cols)
            // The mask is moved out while it mutates (no copy), values and scores are shared.
            var mask: [Bool] = []
            swap(&mask, &matrices[k].mask)
            let values = matrices[k].values, scores = matrices[k].scores
            mask.withUnsafeMutableBufferPointer { mb in
                layout.order.withUnsafeBufferPointer { ob in
                    layout.rank.withUnsafeBufferPointer { kb in
                        values.withUnsafeBufferPointer { vb in
                            scores.withUnsafeBufferPointer { sb in
                                layout.target.withUnsafeBufferPointer { tb in
                                    let p = EvolutionaryMaskSearch.MaskPointers(mask: mb.baseAddress!, order: ob.baseAddress!, rank: kb.baseAddress!,
                                                                                values: vb.baseAddress!, scores: sb.baseAddress!, target: tb.baseAddress!)
                                    for r in 0..<rows where EvolutionaryMaskSearch.mutate(row: r, context, p, &rng, &scratch) {
                                        for a in scratch.changed where scratch.flipped[a] { changed.append(r * cols + layout.order[a]) }
                                        for a in scratch.changed { scratch.flipped[a] = false }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            if changed.isEmpty { swap(&mask, &matrices[k].mask); continue }
            var child = parent
            for i in changed { child.weight[i] = mask[i] ? 0 : values[i] }
            model.setLinear(child, matrices[k].projection, layer: matrices[k].layer)
            let childLoss = try loss(windows)
            var keep = childLoss <= current
            var childHeldOut: Double?
            if keep, currentHeldOut != nil {
                childHeldOut = try loss(heldOut)
                keep = childHeldOut! <= currentHeldOut!
            }
            if keep {
                current = childLoss; currentHeldOut = childHeldOut ?? currentHeldOut
                outcome.acceptedChildren += 1
            } else {
                for i in changed { mask[i].toggle() }
                model.setLinear(parent, matrices[k].projection, layer: matrices[k].layer)
            }
            swap(&mask, &matrices[k].mask)
        }
        // The final losses from the model as it stands (not the running values).
        outcome.finalLoss = try loss(windows)
        outcome.finalHeldOutLoss = heldOut.isEmpty ? nil : try loss(heldOut)
        outcome.changedWeights = zip(matrices, initialMasks).reduce(0) { n, pair in
            n + zip(pair.0.mask, pair.1).reduce(0) { $0 + ($1.0 != $1.1 ? 1 : 0) }
        }
        return outcome
    }
}
