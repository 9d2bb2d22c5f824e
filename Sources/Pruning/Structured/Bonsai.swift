import Compute
import Foundation
import LLM

/// Bonsai (Dery, Kolawole, Kagey, Smith, Neubig, Talwalkar 2024, "Everybody Prune Now:
/// Structured Pruning of LLMs with only Forward Passes"; code: ldery/Bonsai `main.py`):
/// structured pruning of KV groups and MLP channels from forward passes alone, in rounds.
/// Each round, on the model pruned so far (`investigate_score_based_mask`):
///  1. Prior: every unit's mean |activation| over the calibration windows — a KV group's heads'
///     outputs (what o reads), an MLP channel's activated hidden (what down reads).
///  2. In each module (one layer's attention, one layer's MLP) that loses p·n of its n units
///     this round, the top ⌊n·(1 − 2p)⌋ units by prior are fixed: kept and never sampled
///     (`run_data_to_sampling_proba`).
///  3. `masks / 2` times: a sub-model removes p·n units of every module, drawn without
///     replacement with probability ∝ (max prior − prior) (`get_random_mask`), and its
///     calibration perplexity is measured; then its complement — each module's unfixed units
///     that the first kept are removed, those it removed come back — is measured too
///     (`get_random_mask_scores`). Sub-models are the model with the removed units' columns of
///     o and down zeroed, which computes exactly what the model without them computes.
///  4. Per module, −perplexity is fitted linearly on which unfixed units each sub-model kept
///     (`UnitRegression`, the reference's `local` score model); β_j is unit j's importance,
///     fixed units rank above all.
///  5. The module's p·n lowest units are removed and the model shrinks before the next round.
/// Departures, each stated where it is made: the counts come from `BlockBudget` (the
/// whole-model ratio exact as every structured method here, split evenly over the rounds) where
/// the reference removes ⌊p·n⌋+1 per module per round and stops within a tolerance; the linear
/// fit is ridge (see `UnitRegression`); sampling is seeded (`seed`).
public enum Bonsai {
    /// What a Bonsai run found, for the report.
    public struct Summary: Codable, Sendable, Equatable {
        public var rounds: Int
        public var subModelsEvaluated: Int
        /// Calibration perplexity of the model after each round.
        public var perplexityAfterRound: [Double]

        enum CodingKeys: String, CodingKey {
            case rounds, subModelsEvaluated = "sub_models_evaluated", perplexityAfterRound = "calibration_ppl_after_round"
        }
    }

    /// Prunes `model` by `allocation` (removal counts per dense layer) in `rounds` rounds, `masks`
    /// sub-models per round. Returns the plan in the dense model's indices and the pruned model.
    public static func prune(_ model: LanguageModel, allocation: BlockAllocation, windows: [[Int32]], rounds: Int,
                             masks: Int, seed: UInt64, progress: ((_ done: Int, _ total: Int) -> Void)? = nil) throws
        -> (plan: StructuredPlan, model: LanguageModel, summary: Summary) {
        guard !windows.isEmpty else { throw StructuredPruningError.invalidSetting("bonsai needs calibration windows") }
        guard rounds >= 1 else { throw StructuredPruningError.invalidSetting("bonsai needs at least one round, got \(rounds)") }
        guard masks >= 2 else { throw StructuredPruningError.invalidSetting("bonsai needs at least 2 sub-models per round, got \(masks)") }
        let n = model.layerCount
        var plan = StructuredPlan(kvHeads: model.blockShapes.map(\.kvHeads), intermediateSizes: model.blockShapes.map(\.intermediateSize))
        var current = model
        var rng = SeededRNG(seed: seed ^ 0xB0_25A1)
        var summary = Summary(rounds: rounds, subModelsEvaluated: 0, perplexityAfterRound: [])
        // Removed so far / to remove in all, per layer: round r brings the total to ⌊total·r/R⌋.
        func due(_ total: Int, _ r: Int) -> Int { total * r / rounds - total * (r - 1) / rounds }
        for r in 1...rounds {
            let attentionCounts = (0..<n).map { due(allocation.removedKVGroups[$0], r) }
            let mlpCounts = (0..<n).map { due(allocation.removedMLPChannels[$0], r) }
            if attentionCounts.allSatisfy({ $0 == 0 }) && mlpCounts.allSatisfy({ $0 == 0 }) { continue }
            let scores = try roundScores(current, attentionCounts: attentionCounts, mlpCounts: mlpCounts, windows: windows,
                                         masks: masks, rng: &rng, round: r)
            summary.subModelsEvaluated += scores.evaluated
            var step = StructuredPlan(kvHeads: current.blockShapes.map(\.kvHeads),
                                      intermediateSizes: current.blockShapes.map(\.intermediateSize))
            for i in 0..<n {
                if attentionCounts[i] > 0 {
                    step.keptKVGroups[i] = StructuredPlan.keepHighest(scores.attention[i], removing: attentionCounts[i])
                    plan.keptKVGroups[i] = step.keptKVGroups[i].map { plan.keptKVGroups[i][$0] }
                }
                if mlpCounts[i] > 0 {
                    step.keptMLPChannels[i] = StructuredPlan.keepHighest(scores.mlp[i], removing: mlpCounts[i])
                    plan.keptMLPChannels[i] = step.keptMLPChannels[i].map { plan.keptMLPChannels[i][$0] }
                }
            }
            current = try StructuralShrink.apply(step, to: current)
            summary.perplexityAfterRound.append(exp(try current.meanNextTokenLoss(windows: windows)))
            progress?(r, rounds)
        }
        return (plan, current, summary)
    }

    /// One round's importance of every unit of every module that loses units this round (empty
    /// lists elsewhere): fixed units +∞, the others their fitted β.
    static func roundScores(_ model: LanguageModel, attentionCounts: [Int], mlpCounts: [Int], windows: [[Int32]],
                            masks: Int, rng: inout SeededRNG, round: Int)
        throws -> (attention: [[Double]], mlp: [[Double]], evaluated: Int) {
        let prior = try activationPrior(model, windows: windows)
        // The modules that lose units: (layer, attention?) with their sampling set.
        struct Module { var layer: Int; var attention: Bool; var units: Int; var count: Int; var free: [Int]; var weights: [Double] }
        var modules: [Module] = []
        for i in 0..<model.layerCount {
            for (attention, count, act) in [(true, attentionCounts[i], prior.attention[i]), (false, mlpCounts[i], prior.mlp[i])] where count > 0 {
                let units = act.count
                guard count < units else {
                    throw StructuredPruningError.invalidSetting("layer \(i) would lose all \(units) of its \(attention ? "KV groups" : "MLP channels")")
                }
                let p = Double(count) / Double(units)
                let fixed = max(0, min(units - count, Int((Double(units) * (1 - 2 * p)).rounded(.down))))
                // Highest prior first (ties: lower index); the first `fixed` are kept outright.
                let order = act.indices.sorted { act[$0] != act[$1] ? act[$0] > act[$1] : $0 < $1 }
                let free = order[fixed...].sorted()
                let top = act.max() ?? 0
                // ∝ (max − prior); a small floor so the unit with the largest prior can still be drawn
                // when too few others are left (the reference would fail there).
                var w = free.map { top - act[$0] }
                let floor = max(w.reduce(0, +) / Double(max(w.count, 1)), 1e-30) * 1e-6
                w = w.map { $0 + floor }
                modules.append(Module(layer: i, attention: attention, units: units, count: count, free: Array(free), weights: w))
            }
        }

        // Sub-models: a removal set per module and its complement within the free units.
        let pairs = max(1, masks / 2)
        var keptByModule = modules.map { _ in [Double]() }   // samples × free units, 1 = kept
        var quality: [Double] = []
        let original = modules.map { m in model.linear(m.attention ? .o : .down, layer: m.layer) }
        defer { for (m, linear) in zip(modules, original) { model.setLinear(linear, m.attention ? .o : .down, layer: m.layer) } }
        for pair in 0..<pairs {
            let removed: [[Int]] = modules.map { m in weightedSampleWithoutReplacement(m.weights, count: m.count, rng: &rng).map { m.free[$0] } }
            for complement in [false, true] {
                for (k, m) in modules.enumerated() {
                    let first = Set(removed[k])
                    let gone = complement ? m.free.filter { !first.contains($0) } : removed[k]
                    let goneSet = Set(gone)
                    keptByModule[k] += m.free.map { goneSet.contains($0) ? 0 : 1 }
                    model.setLinear(zeroingInputs(of: original[k], units: gone, model: model, module: m.attention, layer: m.layer),
                                    m.attention ? .o : .down, layer: m.layer)
                }
                let loss = try model.meanNextTokenLoss(windows: windows)
                guard !loss.isNaN else {
                    throw PruningError.numerical("bonsai round \(round), sub-model \(2 * pair + (complement ? 1 : 0)): the calibration loss is NaN")
                }
                // The reference caps perplexity at 1e8 (its INF) so one broken sub-model cannot dominate the fit.
                quality.append(-min(exp(loss), 1e8))
            }
        }

        var attention = [[Double]](repeating: [], count: model.layerCount), mlp = attention
        for (k, m) in modules.enumerated() {
            let beta = UnitRegression.fit(x: keptByModule[k], y: quality, units: m.free.count)
            var scores = [Double](repeating: .infinity, count: m.units)
            for (j, unit) in m.free.enumerated() { scores[unit] = beta[j] }
            if m.attention { attention[m.layer] = scores } else { mlp[m.layer] = scores }
        }
        return (attention, mlp, 2 * pairs)
    }

    /// `linear` (o or down) with the input columns of `units` zeroed: a KV group's query heads'
    /// channels for attention, the channels themselves for the MLP.
    static func zeroingInputs(of linear: Linear, units: [Int], model: LanguageModel, module attention: Bool, layer i: Int) -> Linear {
        var l = linear
        var columns: [Int] = []
        if attention {
            let s = model.blockShape(i), perKV = s.heads / s.kvHeads
            for g in units { for h in (g * perKV)..<((g + 1) * perKV) { columns += Array((h * s.headDim)..<((h + 1) * s.headDim)) } }
        } else {
            columns = units
        }
        let cols = l.inFeatures
        l.weight.withUnsafeMutableBufferPointer { w in
            for r in 0..<l.outFeatures { for c in columns { w[r * cols + c] = 0 } }
        }
        return l
    }

    /// Mean |activation| per KV group (over its query heads' output channels) and per MLP
    /// channel (of the activated hidden), over every token of the windows.
    static func activationPrior(_ model: LanguageModel, windows: [[Int32]]) throws -> (attention: [[Double]], mlp: [[Double]]) {
        let n = model.layerCount
        var attention = (0..<n).map { [Double](repeating: 0, count: model.blockShape($0).kvHeads) }
        var mlp = (0..<n).map { [Double](repeating: 0, count: model.blockShape($0).intermediateSize) }
        var tokens = 0
        for w in windows {
            var h = try model.embed(w)
            for i in 0..<n {
                let s = model.blockShape(i)
                try model.runLayers(i..<(i + 1), hidden: &h, observer: { site, x, rows, columns in
                    switch site {
                    case .attentionOutput where s.kvHeads > 0:
                        let perGroup = columns / s.kvHeads
                        for r in 0..<rows { for c in 0..<columns { attention[i][c / perGroup] += Double(abs(x[r * columns + c])) / Double(perGroup) } }
                    case .mlpHidden:
                        for r in 0..<rows { for c in 0..<columns { mlp[i][c] += Double(abs(x[r * columns + c])) } }
                    default: break
                    }
                })
            }
            tokens += w.count
        }
        let scale = 1 / Double(max(tokens, 1))
        return (attention.map { $0.map { $0 * scale } }, mlp.map { $0.map { $0 * scale } })
    }

    /// `count` distinct indices drawn with probability ∝ `weights` without replacement
    /// (Efraimidis–Spirakis: the largest keys log(u)/w), as numpy's choice(replace=False, p=…).
    static func weightedSampleWithoutReplacement(_ weights: [Double], count: Int, rng: inout SeededRNG) -> [Int] {
        let keys = weights.map { w -> Double in
            let u = max(Double(rng.next() >> 11) * 0x1p-53, 1e-300)
            return log(u) / w
        }
        return Array(keys.indices.sorted { keys[$0] != keys[$1] ? keys[$0] > keys[$1] : $0 < $1 }.prefix(count))
    }
}
