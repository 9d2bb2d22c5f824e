import Foundation
import LLM

extension StructuredPruner {
    /// The pruned model of a streamed run: its blocks are cut from the source's when `residency`
    /// loads them (write them out one at a time: `HFExport.writeStreamed`).
    public struct StreamedResult {
        public let model: LanguageModel
        public let residency: LayerResidency
        public let plan: StructuredPlan
        public var report: StructuredPruneReport
    }

    /// Refuses what streaming cannot do: hidden-channel and layer modes need every block at once.
    public static func checkStreamable(_ c: StructuredPruneConfiguration) throws {
        guard c.mode == .block else {
            throw StructuredPruningError.invalidSetting("\(c.mode.rawValue) mode needs every block in memory at once; streaming prunes heads and MLP channels (block mode)")
        }
        guard c.criterion != .l0 else {
            throw StructuredPruningError.invalidSetting("l0 learns its gates from whole-model gradients at every step, which needs every block in memory; it does not stream")
        }
        guard c.criterion != .bonsai else {
            throw StructuredPruningError.invalidSetting("bonsai evaluates hundreds of whole sub-models per round, which needs every block in memory; it does not stream")
        }
    }

    /// Block-mode structured pruning of a model whose blocks are streamed (DESIGN.md §11): the same
    /// allocation, scores and plan as `prune`, with one source block in memory at a time.
    ///
    /// Taylor scores come from `blockwiseGradients`: the backward walks the blocks from the top
    /// with checkpointed block inputs, and each block's per-window gradients are summed into that
    /// block's mean (and Fisher diagonal) — exactly `TaylorStatistics.collect`'s operations on the
    /// same values — and turned into group scores before the next block down is loaded; the model's
    /// gradients are never all held at once. Hidden-channel and layer modes need every block at
    /// once and are refused. `progress` is told each block scored (done, total).
    public static func pruneStreamed(_ model: LanguageModel, residency: LayerResidency,
                                     configuration c: StructuredPruneConfiguration,
                                     calibration: [[Int32]] = [], calibrationSource: String? = nil,
                                     progress: ((_ done: Int, _ total: Int) -> Void)? = nil) throws -> StreamedResult {
        let start = Date()
        let n = model.layerCount
        try c.validate(layerCount: n)
        try checkStreamable(c)
        var seconds: [String: Double] = [:]
        func timed<T>(_ phase: String, _ body: () throws -> T) rethrows -> T {
            let t = Date(); defer { seconds[phase, default: 0] += Date().timeIntervalSince(t) }
            return try body()
        }
        let def = StructuredPruneConfiguration.defaultBlockLayers(layerCount: n)
        let allocation = try timed("allocation") { try blockAllocation(model, c) }
        let pruned = { (i: Int) in allocation.removedKVGroups[i] > 0 || allocation.removedMLPChannels[i] > 0 }
        var plan = StructuredPlan(kvHeads: model.blockShapes.map(\.kvHeads), intermediateSizes: model.blockShapes.map(\.intermediateSize))

        func score(_ i: Int, _ statistics: TaylorStatistics?) throws {
            let importance = try GroupImportance(criterion: c.criterion, taylorOrder: c.taylorOrder, aggregation: c.aggregation,
                                                 statistics: statistics, seed: c.seed)
            plan.keepHighest(layer: i, of: model, by: importance, allocation: allocation)
        }

        if c.criterion == .taylor {
            guard !calibration.isEmpty else { throw StructuredPruningError.invalidSetting("Taylor importance needs calibration windows") }
            let lowest = (0..<n).first(where: pruned) ?? n - 1
            let scale = 1 / Float(calibration.count)
            var mean: ModelGradients?, fisher: ModelGradients?
            try timed("gradients") {
                try model.blockwiseGradients(windows: calibration, residency: residency, lowestLayer: lowest, needsGradient: pruned,
                    window: { _, g in
                        if mean == nil {
                            mean = ModelGradients(tensors: g.tensors, partial: true)
                            if c.taylorOrder.needsFisher { fisher = ModelGradients(tensors: g.tensors, partial: true) }
                        }
                        mean!.add(g, scale: scale)
                        fisher?.addSquared(g, scale: scale)
                    },
                    blockDone: { i in
                        defer { mean = nil; fisher = nil; progress?(n - i, n - lowest) }
                        guard pruned(i), let m = mean else { return }
                        try score(i, TaylorStatistics(gradient: m, fisher: fisher, windows: calibration.count))
                    })
            }
        } else {
            try timed("scoring") {
                let scored = (0..<n).filter(pruned)
                for (k, i) in scored.enumerated() {
                    try residency.load(i)
                    defer { residency.release(i); progress?(k + 1, scored.count) }
                    try score(i, nil)
                }
            }
        }
        try checkEveryBlockKeepsOne(plan, model)

        let (small, blocks) = try timed("shrink") { try StructuralShrink.streamed(plan, from: model, residency: residency) }
        let report = makeReport(c, dense: model, pruned: small, attentionLayers: c.attentionLayers ?? def,
                                mlpLayers: c.mlpLayers ?? def, perLayerRatio: allocation.perLayerRatio, dropped: [],
                                calibration: calibration, calibrationSource: calibrationSource, seconds: seconds, start: start)
        return StreamedResult(model: small, residency: blocks, plan: plan, report: report)
    }
}
