import Foundation
import LLM

/// The structured pruning pipeline: score groups, solve how many to remove, remove them, and
/// build the smaller model. The dense model is left untouched.
public enum StructuredPruner {
    public struct Result {
        public let model: LanguageModel
        public let plan: StructuredPlan
        public var report: StructuredPruneReport
    }

    /// - calibration: windows for Taylor gradients (block/channel with `.taylor`) and for layer
    ///   scores (layer mode); unused otherwise.
    /// - taylor: supplies gradient statistics for `.taylor`; by default the mean gradient (and,
    ///   for the second-order terms, the diagonal Fisher) over the calibration windows from the
    ///   model's own backward.
    public static func prune(_ model: LanguageModel, configuration c: StructuredPruneConfiguration,
                             calibration: [[Int32]] = [], calibrationSource: String? = nil,
                             taylor: TaylorStatisticsProvider? = nil,
                             progress: ((_ done: Int, _ total: Int) -> Void)? = nil) throws -> Result {
        let start = Date()
        let n = model.layerCount
        try c.validate(layerCount: n)
        var seconds: [String: Double] = [:]
        func timed<T>(_ phase: String, _ body: () throws -> T) rethrows -> T {
            let t = Date(); defer { seconds[phase, default: 0] += Date().timeIntervalSince(t) }
            return try body()
        }

        var plan = StructuredPlan(kvHeads: model.blockShapes.map(\.kvHeads), intermediateSizes: model.blockShapes.map(\.intermediateSize))
        var attnRange: ClosedRange<Int>?, mlpRange: ClosedRange<Int>?
        var perLayerRatio: Double?
        var dropped: [Int] = []
        var gates: HardConcreteGates.Summary?   // L0's learned gates, for the report
        var adapters: LearnedAdapters?          // L0's adapters, merged before the cut
        let usesGradients = c.criterion == .taylor && c.mode != .layer

        var statistics: TaylorStatistics?
        if usesGradients {
            let taylor = taylor ?? { m, windows in
                try TaylorStatistics.collect(model: m, windows: windows, withFisher: c.taylorOrder.needsFisher)
            }
            guard !calibration.isEmpty else { throw StructuredPruningError.invalidSetting("Taylor importance needs calibration windows") }
            statistics = try timed("gradients") { try taylor(model, calibration) }
        }

        switch c.mode {
        case .block where c.criterion == .l0 && c.l0TargetShape != nil:
            // Sheared LLaMA's targeted pruning: the gates' counts come from the shape, every layer.
            let shape = c.l0TargetShape!
            let removals = try timed("allocation") { try shape.removals(from: model) }
            attnRange = 0...(n - 1); mlpRange = attnRange
            let learned = try timed("gates") {
                try HardConcreteGates.learn(model, removing: removals, windows: calibration, settings: c.l0Settings, progress: progress)
            }
            plan = try learned.plan(model, removing: removals)
            dropped = (0..<n).filter { !plan.keptLayers.contains($0) }
            gates = learned.summary
            adapters = learned.adapters
            gates?.targetShape = shape
        case .block:
            let def = StructuredPruneConfiguration.defaultBlockLayers(layerCount: n)
            attnRange = c.attentionLayers ?? def
            mlpRange = c.mlpLayers ?? def
            let allocation = try timed("allocation") { try blockAllocation(model, c) }
            perLayerRatio = allocation.perLayerRatio
            if c.criterion == .bonsai {
                let result = try timed("bonsai") {
                    try Bonsai.prune(model, allocation: allocation, windows: calibration, rounds: c.bonsaiRounds, masks: c.bonsaiMasks,
                                     seed: c.seed, progress: progress)
                }
                try checkEveryBlockKeepsOne(result.plan, model)
                var report = makeReport(c, dense: model, pruned: result.model, attentionLayers: attnRange, mlpLayers: mlpRange,
                                        perLayerRatio: perLayerRatio, dropped: [], calibration: calibration,
                                        calibrationSource: calibrationSource, seconds: seconds, start: start)
                report.bonsai = result.summary
                return Result(model: result.model, plan: result.plan, report: report)
            }
            if c.criterion == .l0 {
                let removals = GateRemovals(allocation)
                let learned = try timed("gates") {
                    try HardConcreteGates.learn(model, removing: removals, windows: calibration, settings: c.l0Settings, progress: progress)
                }
                plan = try learned.plan(model, removing: removals)
                try checkEveryBlockKeepsOne(plan, model)
                gates = learned.summary
                adapters = learned.adapters
            } else {
                let importance = try GroupImportance(criterion: c.criterion, taylorOrder: c.taylorOrder, aggregation: c.aggregation,
                                                     statistics: statistics, seed: c.seed)
                try timed("scoring") {
                    for i in 0..<n { plan.keepHighest(layer: i, of: model, by: importance, allocation: allocation) }
                    try checkEveryBlockKeepsOne(plan, model)
                }
            }
        case .channel:
            let keep = try timed("allocation") { try HiddenChannelBudget.solve(model: model, ratio: c.ratio, mode: c.ratioMode) }
            let importance = try GroupImportance(criterion: c.criterion, taylorOrder: c.taylorOrder, aggregation: c.aggregation,
                                                 statistics: statistics, seed: c.seed)
            let scores = timed("scoring") { importance.hiddenChannelScores(model) }
            guard scores.allSatisfy({ !$0.isNaN }) else { throw PruningError.numerical("hidden channel scores contain NaN") }
            plan.keptHiddenChannels = StructuredPlan.keepHighest(scores, removing: model.hiddenSize - keep)
        case .layer:
            let candidates = Array(c.attentionLayers ?? 0...(n - 1))
            attnRange = candidates.first.map { $0...candidates.last! }
            let scores: [Double] = try timed("scoring") {
                switch c.layerScore {
                case .blockInfluence: return try BlockInfluence.scores(model: model, windows: calibration)
                case .loss: return try LayerRemovalLoss.scores(model: model, windows: calibration)
                }
            }
            dropped = try timed("allocation") {
                try LayerDropBudget.solve(model: model, candidates: candidates, scores: scores, ratio: c.ratio, mode: c.ratioMode)
            }
            plan.keptLayers = (0..<n).filter { !dropped.contains($0) }
        }

        var pruned = try timed("shrink") {
            try adapters?.merged(into: model) { try StructuralShrink.apply(plan, to: model) } ?? StructuralShrink.apply(plan, to: model)
        }
        if c.criterion == .l0, pruned.hiddenSize < model.hiddenSize {
            pruned = HardConcreteGates.rescaledNorms(pruned, denseHiddenSize: model.hiddenSize)
        }
        var report = makeReport(c, dense: model, pruned: pruned, attentionLayers: attnRange, mlpLayers: mlpRange,
                                 perLayerRatio: perLayerRatio, dropped: dropped, calibration: calibration,
                                 calibrationSource: calibrationSource, seconds: seconds, start: start)
        report.l0 = gates
        return Result(model: pruned, plan: plan, report: report)
    }

    /// Block mode's allocation: how many KV groups and MLP channels each layer loses.
    static func blockAllocation(_ model: LanguageModel, _ c: StructuredPruneConfiguration) throws -> BlockAllocation {
        let def = StructuredPruneConfiguration.defaultBlockLayers(layerCount: model.layerCount)
        let attn = c.attentionLayers ?? def, mlp = c.mlpLayers ?? def
        return try BlockBudget.solve(model: model, attentionLayers: Array(attn), mlpLayers: Array(mlp), ratio: c.ratio,
                                     mode: c.ratioMode,
                                     scope: "attention in layers \(attn.lowerBound)-\(attn.upperBound) and MLP in layers \(mlp.lowerBound)-\(mlp.upperBound)")
    }

    static func makeReport(_ c: StructuredPruneConfiguration, dense model: LanguageModel, pruned: LanguageModel,
                           attentionLayers attnRange: ClosedRange<Int>?, mlpLayers mlpRange: ClosedRange<Int>?,
                           perLayerRatio: Double?, dropped: [Int], calibration: [[Int32]], calibrationSource: String?,
                           seconds: [String: Double], start: Date) -> StructuredPruneReport {
        let usesGradients = c.criterion == .taylor && c.mode != .layer
        let usesCalibration = usesGradients || c.mode == .layer || c.criterion == .bonsai || c.criterion == .l0
        let before = model.parameterCount, after = pruned.parameterCount
        func range(_ r: ClosedRange<Int>?) -> String? { r.map { "\($0.lowerBound)-\($0.upperBound)" } }
        return StructuredPruneReport(
            method: c.mode == .layer ? c.layerScore.rawValue : c.criterion.rawValue, mode: c.mode.rawValue,
            ratioMode: c.ratioMode.rawValue,
            // A target shape asks for its own ratio, which it meets exactly.
            ratioRequested: c.l0TargetShape != nil ? 1 - Double(after) / Double(before) : c.ratio,
            ratioActual: 1 - Double(after) / Double(before), paramsBefore: before, paramsAfter: after,
            weightBytesBefore: before * MemoryLayout<Float>.size, weightBytesAfter: after * MemoryLayout<Float>.size,
            attentionLayers: c.mode == .channel ? nil : range(attnRange), mlpLayers: range(mlpRange), perLayerRatio: perLayerRatio,
            hiddenSizeBefore: model.hiddenSize, hiddenSizeAfter: pruned.hiddenSize, droppedLayers: dropped,
            heads: pruned.blockShapes.map(\.heads), kvHeads: pruned.blockShapes.map(\.kvHeads),
            intermediateSizes: pruned.blockShapes.map(\.intermediateSize),
            taylorOrder: usesGradients ? c.taylorOrder.rawValue : nil, aggregation: c.aggregation.rawValue,
            layerScore: c.mode == .layer ? c.layerScore.rawValue : nil, seed: c.seed,
            calibrationWindows: usesCalibration ? calibration.count : 0,
            calibrationSeqlen: usesCalibration ? (calibration.first?.count ?? 0) : 0,
            calibrationSource: usesCalibration ? calibrationSource : nil,
            secondsByPhase: seconds, seconds: Date().timeIntervalSince(start))
    }

    /// Checks, without scoring anything, that the requested ratio can be met on `model`: the
    /// budget solvers' own refusals (unreachable, not representable within 0.5 points) before any
    /// calibration or gradient work, so a study can reject an impossible cell up front. Layer
    /// mode is checked with equal scores; with layers of equal size the answer does not depend on
    /// which layers the scores pick.
    public static func checkBudget(_ model: LanguageModel, configuration c: StructuredPruneConfiguration) throws {
        let n = model.layerCount
        try c.validate(layerCount: n)
        switch c.mode {
        case .block where c.l0TargetShape != nil:
            let removals = try c.l0TargetShape!.removals(from: model)
            if removals.hiddenChannels > 0 || removals.layers > 0 { try GatedWeights.checkResidualGating(model) }
        case .block:
            _ = try blockAllocation(model, c)
        case .channel:
            _ = try HiddenChannelBudget.solve(model: model, ratio: c.ratio, mode: c.ratioMode)
        case .layer:
            _ = try LayerDropBudget.solve(model: model, candidates: Array(c.attentionLayers ?? 0...(n - 1)),
                                          scores: [Double](repeating: 0, count: n), ratio: c.ratio, mode: c.ratioMode)
        }
    }

    /// Every kept index list must be non-empty where the dense layer had that block (guards the
    /// budget's keep-one rule).
    static func checkEveryBlockKeepsOne(_ plan: StructuredPlan, _ model: LanguageModel) throws {
        for (i, l) in model.blockShapes.enumerated() {
            if l.kvHeads > 0 && plan.keptKVGroups[i].isEmpty || l.intermediateSize > 0 && plan.keptMLPChannels[i].isEmpty {
                throw PruningError.numerical("layer \(i) would lose its whole attention or MLP")
            }
        }
    }
}
