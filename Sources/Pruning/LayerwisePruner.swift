import Compute
import Foundation
import LLM

/// Sparsity of one pruned matrix.
public struct MatrixReport: Codable, Sendable {
    public var rows: Int
    public var cols: Int
    public var sparsityRequested: Double
    public var zeros: Int
    public var sparsity: Double
}

/// What a pruning run did (written as pruning.json).
public struct PruneReport: Codable, Sendable {
    public var configuration: PruneConfiguration
    public var order: String
    public var nsamples: Int
    public var seqlen: Int
    public var layers: [String: [String: MatrixReport]]     // "3" → "q" → report
    public var prunableWeights: Int
    public var prunableZeros: Int
    public var sparsityAchieved: Double                     // over the selected matrices
    public var paramsTotal: Int
    public var paramsNonzero: Int
    public var modelSparsity: Double                        // zeros over all parameters
    public var secondsByPhase: [String: Double]
    public var seconds: Double
    /// Mean over matrices of kept score with / without RIA's channel permutation (--permute).
    public var permutationKeptScoreGain: Double?
    /// Sparsity given to each layer by the allocation (OWL).
    public var layerSparsity: [String: Double]?
    /// Peak resident memory of the process when pruning finished (includes the loaded model).
    public var peakResidentMegabytes: Double?
    /// DSnoT: weights regrown, each swapped for one pruned.
    public var dsnotSwaps: Int?
    /// The evolutionary mask search: its budget and what it gained, summed over the matrices.
    public var evolutionarySearch: EvolutionarySearchSummary?
    /// The allocation search (evopress): held-out loss after each generation, the uniform allocation's first.
    public var allocationSearchLoss: [Double]?
    /// The whole-model mask search after the layer-wise one (nil: not run).
    public var wholeModelSearch: WholeModelSearchOutcome? = nil
}

/// Post-training pruning layer by layer, in the reference order of the Wanda/SparseGPT code
/// (DESIGN.md §5): for each decoder layer, the calibration inputs are run through the dense
/// layer while the statistics each method needs are gathered at every linear input; the
/// layer's projections are pruned; then the inputs are run through the pruned layer to become
/// the next layer's inputs. Memory: the model, the calibration activations, one layer's
/// statistics.
public final class LayerwisePruner {
    public let model: LanguageModel
    public let configuration: PruneConfiguration
    /// Called after each layer with (layers done, total).
    public var progress: ((Int, Int) -> Void)?
    /// Called after each generation of the whole-model mask search with (generations done, total,
    /// the search windows' loss).
    public var searchProgress: ((Int, Int, Double) -> Void)?
    /// Called after each generation of the allocation search (`--allocation evopress`) with
    /// (generations done, generations, the held-out loss of the allocation kept).
    public var allocationProgress: ((Int, Int, Double) -> Void)?
    /// Streaming: the blocks live in their checkpoint and are loaded one at a time; each is
    /// released once final (after `layerFinished`). Global and OWL pruning need every block at
    /// once and are refused.
    public var residency: LayerResidency?
    /// Called once per block (every block of the model, pruned or not) when it will not change
    /// again, in order, while it is still in memory: where a streaming run writes it out.
    public var layerFinished: ((Int) throws -> Void)?

    public init(model: LanguageModel, configuration: PruneConfiguration) throws {
        try configuration.validate(layerCount: model.layerCount)
        let missing = configuration.matrices.filter { !model.projections.contains($0) }
        if !missing.isEmpty {
            throw PruningError.invalidSetting("this \(model.architecture) model has no \(missing.map(\.rawValue).joined(separator: ", ")) projection; it has \(model.projections.map(\.rawValue).joined(separator: ", "))")
        }
        self.model = model
        self.configuration = configuration
    }

    /// Per-layer sparsity from the allocation (OWL); absent = the configuration's.
    public private(set) var layerSparsity: [Int: Double] = [:]

    func sparsity(for p: Projection, layer i: Int) -> Double {
        layerSparsity[i] ?? configuration.sparsity(for: p)
    }

    /// Weights DSnoT regrew (each swapped for one it pruned) in the current run.
    public private(set) var dsnotSwaps = 0

    /// The evolutionary mask search's outcomes in the current run, summed over the matrices.
    public private(set) var searchSummary = EvolutionarySearchSummary()

    /// The masks the whole-model search starts from, gathered as the layer-wise search leaves them.
    private var wholeModelMatrices: [WholeModelMaskSearch.Matrix] = []

    /// Kept-score ratios (permuted / plain) of every matrix pruned with --permute.
    public private(set) var keptScoreGain: [Double] = []

    /// Seconds spent per phase in the current run (pruning.json's secondsByPhase).
    private var phases: [String: Double] = [:]

    private func timed<T>(_ name: String, _ body: () throws -> T) rethrows -> T {
        let t = Date(); defer { phases[name, default: 0] += Date().timeIntervalSince(t) }
        return try body()
    }

    private var layerRange: ClosedRange<Int> { configuration.layers ?? 0...(model.layerCount - 1) }

    public func run(calibration: [[Int32]]) throws -> PruneReport {
        let c = configuration
        let start = Date()
        phases = [:]
        keptScoreGain = []
        dsnotSwaps = 0
        searchSummary = EvolutionarySearchSummary()
        wholeModelMatrices = []
        layerSparsity = [:]
        if (c.method.needsCalibration || c.allocation != .uniform) && calibration.isEmpty {
            throw PruningError.invalidSetting("\(c.method.rawValue) needs calibration windows")
        }
        if residency != nil { try Self.checkStreamable(c) }
        finished = [:]
        gradients = nil
        if c.method.needsGradients {
            gradients = try timed("gradients") {
                try CalibrationGradients.collect(model: model, windows: calibration, method: c.method)
            }
        }

        allocationLoss = []
        if c.allocation == .owl {
            layerSparsity = try timed("allocation") { try owlAllocation(calibration: calibration) }
        } else if c.allocation == .evopress {
            layerSparsity = try timed("allocation") { try evopressAllocation(calibration: calibration) }
        }

        // Global magnitude/random: one threshold over every selected matrix of the model.
        if c.group == .global {
            try timed("prune") { try pruneGlobally() }
        } else if !c.method.needsActivations {
            try timed("prune") {
                for i in 0..<model.layerCount {
                    try use(i)
                    if layerRange.contains(i) {
                        try pruneLayer(i, statistics: LayerStatistics())
                        progress?(i - layerRange.lowerBound + 1, layerRange.count)
                    }
                    try finish(i)
                }
            }
        } else if c.order == .onePass {
            var inputs = try timed("embed") { try calibration.map { try model.embed($0) } }
            let last = layerRange.upperBound
            for i in 0...last {
                try use(i)
                if layerRange.contains(i) {
                    try pruneLayerOnePass(i, inputs: &inputs, needOutput: i < last)
                    progress?(i - layerRange.lowerBound + 1, layerRange.count)
                } else {
                    try timed("propagate") {
                        for s in inputs.indices { try model.runLayers(i..<(i + 1), hidden: &inputs[s]) }
                    }
                }
                if i < last { try Self.checkFinite(inputs, leaving: i) }
                try finish(i)
            }
        } else {
            var inputs = try timed("embed") { try calibration.map { try model.embed($0) } }
            let last = layerRange.upperBound
            for i in 0...last {
                try use(i)
                if layerRange.contains(i) {
                    let stats = try timed("statistics") { try gatherStatistics(layer: i, inputs: inputs) }
                    try timed("prune") { try pruneLayer(i, statistics: stats) }
                    progress?(i - layerRange.lowerBound + 1, layerRange.count)
                }
                if i < last {
                    try timed("propagate") {
                        for s in inputs.indices { try model.runLayers(i..<(i + 1), hidden: &inputs[s]) }
                    }
                    try Self.checkFinite(inputs, leaving: i)
                }
                try finish(i)
            }
        }
        // Every other block, unchanged, in order.
        for i in 0..<model.layerCount where finished[i] == nil {
            try use(i)
            try finish(i)
        }
        var wholeModel: WholeModelSearchOutcome?
        if c.method == .es && c.es.modelGenerations > 0 {
            let split = heldOutFrom(windows: calibration.count) ?? calibration.count
            wholeModel = try timed("whole-model search") {
                try WholeModelMaskSearch.search(model: model, matrices: &wholeModelMatrices, windows: Array(calibration[..<split]),
                                                heldOut: Array(calibration[split...]), generations: c.es.modelGenerations,
                                                settings: c.es) { done, loss in self.searchProgress?(done, c.es.modelGenerations, loss) }
            }
            wholeModelMatrices = []
            for i in layerRange { finished[i] = (matrixReports(layer: i), model.zeroParameterCount { $0.role.layer == i }) }
        }
        var report = makeReport(calibration: calibration, phases: phases, seconds: Date().timeIntervalSince(start))
        report.wholeModelSearch = wholeModel
        return report
    }

    /// Refuses what streaming cannot do: a global comparison group and OWL allocation need every
    /// block in memory at once.
    public static func checkStreamable(_ c: PruneConfiguration) throws {
        if c.method.needsGradients {
            throw PruningError.invalidSetting("\(c.method.rawValue) takes the calibration loss's gradient through the whole model before pruning; prune without streaming")
        }
        if c.method == .es && c.es.modelGenerations > 0 {
            throw PruningError.invalidSetting("the whole-model mask search changes every layer until it ends, so it needs them all in memory; prune without streaming")
        }
        if c.group == .global || c.allocation != .uniform {
            throw PruningError.invalidSetting("\(c.group == .global ? "a global comparison group" : "\(c.allocation.rawValue) allocation") needs every layer in memory at once; prune without streaming")
        }
    }

    /// Stops a run at the first layer whose output holds NaN or ±∞ — where it first appears,
    /// not as a wrong perplexity at the end.
    static func checkFinite(_ hidden: [[Float]], leaving layer: Int) throws {
        for (k, h) in hidden.enumerated() {
            if let j = h.firstIndex(where: { !$0.isFinite }) {
                throw PruningError.numerical("the calibration activations leaving layer \(layer) are not finite (window \(k), element \(j): \(h[j])); a weight of layer \(layer) or earlier is out of range")
            }
        }
    }

    /// The calibration gradients of the dense model (gradient, taylor, gblm), taken before pruning.
    private var gradients: CalibrationGradients?

    /// The gradient statistic of projection `p` in layer `i`.
    func gradientStatistic(_ p: Projection, layer i: Int) throws -> [Float] {
        guard let gradients,
              let t = model.parameters.first(where: { if case .projection(p, i, _) = $0.role { return true } else { return false } }) else {
            throw PruningError.numerical("no calibration gradient reached \(p.rawValue) in layer \(i)")
        }
        return try gradients.values(of: t.name)
    }

    /// Per-site accumulators of what the method needs (column norms for Wanda/RIA, the
    /// Hessian 2XᵀX/n for SparseGPT), from a dense forward of layer i over every window.
    func gatherStatistics(layer i: Int, inputs: [[Float]]) throws -> LayerStatistics {
        let sites = Set(configuration.matrices.map(\.inputSite))
        let stats = LayerStatistics(keepsMoments: configuration.method == .dsnot, keepsNormsWithHessians: configuration.method == .es)
        stats.heldOutFrom = heldOutFrom(windows: inputs.count)
        let hessians = needsHessians
        let observer: LinearInputObserver = { site, x, rows, cols in
            guard sites.contains(site) else { return }
            stats.add(site, x, rows: rows, cols: cols, hessian: hessians)
        }
        // The dense layer output is not needed, only its linear inputs: stop after the last site read
        // (for all seven projections that skips down_proj, an eighth of the two passes' GEMM work).
        let last = sites.max { $0.rawValue < $1.rawValue }
        for s in inputs.indices {
            stats.window = s
            var h = inputs[s]
            try model.runLayers(i..<(i + 1), hidden: &h, observer: observer, stopAfter: last)
        }
        return stats
    }

    /// One-pass order: the block is walked site by site over every window (`LanguageModel.runLayer`
    /// with a cursor per window); after each site the projections reading it are pruned, so the next
    /// site's statistics already see them pruned. `inputs` become the pruned block's outputs.
    func pruneLayerOnePass(_ i: Int, inputs: inout [[Float]], needOutput: Bool) throws {
        let hessians = needsHessians
        var cursors = inputs.map { BlockCursor(hidden: $0) }
        inputs = []
        let sites = LinearInputSite.allCases.filter { site in configuration.matrices.contains { $0.inputSite == site } }
        for site in sites {
            let stats = LayerStatistics(keepsMoments: configuration.method == .dsnot, keepsNormsWithHessians: configuration.method == .es)
            stats.heldOutFrom = heldOutFrom(windows: cursors.count)
            var statisticsSeconds = 0.0
            let started = Date()
            for s in cursors.indices {
                stats.window = s
                model.runLayer(i, cursor: &cursors[s], to: site) { at, x, rows, cols in
                    guard at == site else { return }
                    let t = Date()
                    stats.add(site, x, rows: rows, cols: cols, hessian: hessians)
                    statisticsSeconds += Date().timeIntervalSince(t)
                }
            }
            phases["statistics", default: 0] += statisticsSeconds
            phases["forward", default: 0] += Date().timeIntervalSince(started) - statisticsSeconds
            let ps = configuration.matrices.filter { $0.inputSite == site }
            try timed("prune") { try pruneLayer(i, statistics: stats, only: ps) }
        }
        guard needOutput else { return }
        timed("forward") {
            for s in cursors.indices { model.runLayer(i, cursor: &cursors[s], to: nil, observer: nil) }
        }
        inputs = cursors.map(\.hidden)
    }

    /// SparseGPT reconstructs with the layer Hessian; the evolutionary search measures its fitness with it
    /// (and a SparseGPT start needs it too).
    var needsHessians: Bool { configuration.method == .sparsegpt || configuration.method == .es }

    /// The evolutionary search's held-out windows: the last ⌊n·share⌋ of n (nil: none, or not the search).
    func heldOutFrom(windows n: Int) -> Int? {
        guard configuration.method == .es else { return nil }
        let k = Int((Double(n) * configuration.es.heldOutShare).rounded(.down))
        return k > 0 && k < n ? n - k : nil
    }

    func scores(for p: Projection, layer i: Int, statistics: LayerStatistics, method: PruneMethod? = nil) throws -> [Float] {
        let lin = model.linear(p, layer: i)
        let c = configuration
        let method = method ?? (c.method == .dsnot ? c.dsnot.initial : c.method == .es ? c.es.initial : c.method)
        switch method {
        case .magnitude:
            return ImportanceScore.magnitude(lin.weight)
        case .random:
            return ImportanceScore.random(count: lin.weight.count, seed: c.seed &+ UInt64(i * 16 + Projection.allCases.firstIndex(of: p)!))
        case .entropy:
            return ImportanceScore.entropy(lin.weight, rows: lin.outFeatures, cols: lin.inFeatures)
        case .gradient:
            return try gradientStatistic(p, layer: i)
        case .taylor:
            return ImportanceScore.taylor(lin.weight, meanGradient: try gradientStatistic(p, layer: i))
        case .wanda, .ria, .gblm:
            guard let norms = statistics.norms[p.inputSite] else {
                throw PruningError.numerical("no calibration statistics reached \(p.rawValue) in layer \(i)")
            }
            let scaler = norms.scaler
            if let j = scaler.firstIndex(where: { !$0.isFinite }) {
                throw PruningError.numerical("layer \(i), \(p.rawValue) projection: the calibration inputs' squared norm of column \(j) is not finite (the activations overflowed float32)")
            }
            switch method {
            case .wanda: return ImportanceScore.wanda(lin.weight, rows: lin.outFeatures, cols: lin.inFeatures, scaler: scaler)
            case .ria: return ImportanceScore.ria(lin.weight, rows: lin.outFeatures, cols: lin.inFeatures, scaler: scaler, alpha: c.alpha)
            default:
                return ImportanceScore.gblm(lin.weight, rows: lin.outFeatures, cols: lin.inFeatures, scaler: scaler,
                                            gradientNorm: try gradientStatistic(p, layer: i), alpha: c.gblmScale)
            }
        case .sparsegpt, .dsnot, .es:
            throw PruningError.invalidSetting("\(method.rawValue) prunes by reconstruction, not by scores")
        }
    }

    func pruneLayer(_ i: Int, statistics: LayerStatistics, only: [Projection]? = nil) throws {
        for p in only ?? configuration.matrices {
            var lin = model.linear(p, layer: i)
            if configuration.method == .sparsegpt {
                // SparseGPT (Frantar & Alistarh 2023): mask and weight update from the Hessian.
                guard let h = statistics.hessians[p.inputSite] else {
                    throw PruningError.numerical("no calibration statistics reached \(p.rawValue) in layer \(i)")
                }
                do {
                    _ = try SparseGPT.prune(weight: &lin.weight, rows: lin.outFeatures, cols: lin.inFeatures, hessian: h.hessian,
                                            sparsity: sparsity(for: p, layer: i), pattern: configuration.pattern)
                } catch PruningError.numerical(let why) {
                    throw PruningError.numerical("layer \(i), \(p.rawValue) projection: \(why)")
                }
                model.setLinear(lin, p, layer: i)
                continue
            }
            if configuration.method == .es && configuration.es.initial == .sparsegpt {
                try searchFromSparseGPT(p, layer: i, statistics: statistics)
                continue
            }
            let s = try scores(for: p, layer: i, statistics: statistics)
            var mask: [Bool]
            var permutation: [Int]?
            switch configuration.pattern {
            case .nOfM(let n, let m) where configuration.permute:
                // RIA's channel permutation: choose the N:M groups in a permuted input order that
                // keeps more score; the permutation can be folded into the previous layer.
                let perm = try ChannelPermutation.compute(scores: s, rows: lin.outFeatures, cols: lin.inFeatures, n: n, m: m)
                let kept = ChannelPermutation.keptScore(scores: s, rows: lin.outFeatures, cols: lin.inFeatures, n: n, m: m, permutation: perm)
                let plain = ChannelPermutation.keptScore(scores: s, rows: lin.outFeatures, cols: lin.inFeatures, n: n, m: m, permutation: nil)
                keptScoreGain.append(kept / max(plain, 1e-30))
                permutation = perm
                mask = ChannelPermutation.mask(scores: s, rows: lin.outFeatures, cols: lin.inFeatures, n: n, m: m, permutation: perm)
            case .nOfM(let n, let m):
                mask = try MaskSelection.nOfM(scores: s, rows: lin.outFeatures, cols: lin.inFeatures, n: n, m: m, ties: configuration.ties)
            case .unstructured:
                let sp = sparsity(for: p, layer: i)
                var m = configuration.group == .row
                    ? MaskSelection.perRow(scores: s, rows: lin.outFeatures, cols: lin.inFeatures, sparsity: sp)
                    : MaskSelection.perMatrix(scores: s, sparsity: sp)
                if configuration.method == .dsnot { try refineWithDSnoT(&m, p, layer: i, statistics: statistics, initialScores: s) }
                mask = m
            }
            if configuration.method == .es {
                let groups: MaskGroups
                if case .nOfM(let n, let m) = configuration.pattern { groups = .nOfM(n: n, m: m, permutation: permutation) } else { groups = .rows }
                let lin = model.linear(p, layer: i)
                try search(&mask, values: lin.weight, scores: s, groups: groups, p, layer: i, statistics: statistics)
            }
            apply(mask, to: p, layer: i)
        }
    }

    /// The evolutionary mask search from `mask` (`EvolutionaryMaskSearch`), its fitness measured with the
    /// layer Hessian of `p`'s input; `values` are what the kept weights hold (the dense weights, or
    /// SparseGPT's updated ones).
    func search(_ mask: inout [Bool], values: [Float], scores: [Float], groups: MaskGroups, _ p: Projection, layer i: Int,
                statistics: LayerStatistics) throws {
        guard let h = statistics.hessians[p.inputSite] else {
            throw PruningError.numerical("no calibration statistics reached \(p.rawValue) in layer \(i)")
        }
        let lin = model.linear(p, layer: i)
        let outcome = try EvolutionaryMaskSearch.search(
            mask: &mask, dense: lin.weight, values: values, rows: lin.outFeatures, cols: lin.inFeatures,
            hessian: h.hessian, heldOutHessian: statistics.heldOutHessians[p.inputSite]?.hessian,
            scores: scores, groups: groups, settings: configuration.es,
            stream: UInt64(i * 16 + Projection.allCases.firstIndex(of: p)!))
        searchSummary.add(outcome)
        if configuration.es.modelGenerations > 0 {
            wholeModelMatrices.append(WholeModelMaskSearch.Matrix(layer: i, projection: p, mask: mask, values: values, scores: scores, groups: groups))
        }
    }

    /// A SparseGPT start (on the Hessian of the windows not held out): SparseGPT's mask and its updated weights where it kept; the search regrows a
    /// weight with its dense value, and is guided by Wanda's score of the dense weights.
    func searchFromSparseGPT(_ p: Projection, layer i: Int, statistics: LayerStatistics) throws {
        guard let h = statistics.hessians[p.inputSite] else {
            throw PruningError.numerical("no calibration statistics reached \(p.rawValue) in layer \(i)")
        }
        var lin = model.linear(p, layer: i)
        var updated = lin.weight
        var mask: [Bool]
        do {
            mask = try SparseGPT.prune(weight: &updated, rows: lin.outFeatures, cols: lin.inFeatures, hessian: h.hessian,
                                       sparsity: sparsity(for: p, layer: i), pattern: configuration.pattern)
        } catch PruningError.numerical(let why) {
            throw PruningError.numerical("layer \(i), \(p.rawValue) projection: \(why)")
        }
        var values = lin.weight
        for j in mask.indices where !mask[j] { values[j] = updated[j] }
        let s = try scores(for: p, layer: i, statistics: statistics, method: .wanda)
        let groups: MaskGroups
        if case .nOfM(let n, let m) = configuration.pattern { groups = .nOfM(n: n, m: m, permutation: nil) } else { groups = .rows }
        try search(&mask, values: values, scores: s, groups: groups, p, layer: i, statistics: statistics)
        for j in mask.indices { lin.weight[j] = mask[j] ? 0 : values[j] }
        model.setLinear(lin, p, layer: i)
    }

    /// DSnoT's swaps on the initial mask of projection `p` (unless its kind is skipped).
    func refineWithDSnoT(_ mask: inout [Bool], _ p: Projection, layer i: Int, statistics: LayerStatistics,
                         initialScores: [Float]) throws {
        let settings = configuration.dsnot
        if settings.skip == .mlp && !p.isAttention || settings.skip == .attention && p.isAttention { return }
        guard let moments = statistics.moments[p.inputSite] else {
            throw PruningError.numerical("no calibration statistics reached \(p.rawValue) in layer \(i)")
        }
        let lin = model.linear(p, layer: i)
        // The prune order is always by Wanda's score; a Wanda start has it already.
        let wanda = settings.initial == .wanda ? initialScores : try scores(for: p, layer: i, statistics: statistics, method: .wanda)
        dsnotSwaps += DSnoT.refine(mask: &mask, weight: lin.weight, rows: lin.outFeatures, cols: lin.inFeatures, wanda: wanda,
                                   columnSum: moments.columnSum, variance: moments.variance, settings: settings)
    }

    func apply(_ mask: [Bool], to p: Projection, layer i: Int) {
        var lin = model.linear(p, layer: i)
        for j in mask.indices where mask[j] { lin.weight[j] = 0 }
        model.setLinear(lin, p, layer: i)
    }

    /// OWL (Yin et al. 2024, §3): layers with more outliers in their Wanda scores
    /// |W_ij|·‖X_j‖ (scores above M × the layer mean) are pruned less. Outlier ratios D_l come
    /// from a dense forward; ratios are scaled to [0, 2λ], centred, and the keep ratio of layer l
    /// is (1 − s) + (that), so the mean sparsity over the layers stays s.
    func owlAllocation(calibration: [[Int32]]) throws -> [Int: Double] {
        var inputs = try calibration.map { try model.embed($0) }
        var ratios: [Int: Double] = [:]
        for i in 0...layerRange.upperBound {
            if layerRange.contains(i) {
                let stats = LayerStatistics()
                let sites = Set(configuration.matrices.map(\.inputSite))
                let last = sites.max { $0.rawValue < $1.rawValue }
                for s in inputs.indices {
                    var h = inputs[s]
                    try model.runLayers(i..<(i + 1), hidden: &h, observer: { site, x, rows, cols in
                        guard sites.contains(site) else { return }
                        stats.add(site, x, rows: rows, cols: cols, hessian: false)
                    }, stopAfter: last)
                }
                var all: [Float] = []
                for p in configuration.matrices {
                    let lin = model.linear(p, layer: i)
                    all += ImportanceScore.wanda(lin.weight, rows: lin.outFeatures, cols: lin.inFeatures, scaler: stats.norms[p.inputSite]!.scaler)
                }
                let mean = all.reduce(0.0) { $0 + Double($1) } / Double(max(1, all.count))
                let outliers = all.reduce(0) { $0 + (Double($1) > configuration.owlM * mean ? 1 : 0) }
                ratios[i] = Double(outliers) / Double(max(1, all.count)) * 100
            }
            if i < layerRange.upperBound {
                for s in inputs.indices { try model.runLayers(i..<(i + 1), hidden: &inputs[s]) }
            }
        }
        let lo = ratios.values.min() ?? 0, hi = ratios.values.max() ?? 0
        let lambda = configuration.owlLambda
        var keep: [Int: Double] = [:]
        for (i, d) in ratios { keep[i] = hi > lo ? (d - lo) / (hi - lo) * lambda * 2 : 0 }
        let meanKeep = keep.values.reduce(0, +) / Double(max(1, keep.count))
        var out: [Int: Double] = [:]
        for (i, k) in keep { out[i] = 1 - (k - meanKeep + (1 - configuration.sparsity)) }
        return out
    }

    /// The allocation search's held-out loss after each generation (uniform first).
    public private(set) var allocationLoss: [Double] = []

    /// EvoPress-like allocation (`AllocationSearch`): every layer's scores from a dense forward over the
    /// calibration windows but the held-out ones; each candidate allocation prunes every layer from those
    /// scores at its sparsity (per row or per layer, as the run's group) and is scored by the mean
    /// next-token loss on the held-out windows; the dense weights are restored afterwards and the run
    /// prunes in its own order with the allocation found.
    func evopressAllocation(calibration: [[Int32]]) throws -> [Int: Double] {
        let settings = configuration.allocationSearch
        let h = settings.heldOutWindows
        guard calibration.count > h else { throw AllocationSearchError.heldOut(h, windows: calibration.count) }
        let layers = Array(layerRange)
        let shape = { (i: Int) in self.configuration.matrices.flatMap { p in [self.model.linear(p, layer: i).outFeatures, self.model.linear(p, layer: i).inFeatures] } }
        for i in layers where shape(i) != shape(layers[0]) { throw AllocationSearchError.unequalLayers(layers[0], i) }
        for p in configuration.matrices {
            let cols = model.linear(p, layer: layers[0]).inFeatures
            let rowsOrAll = configuration.group == .row ? cols : cols * model.linear(p, layer: layers[0]).outFeatures
            let w = settings.step * Double(rowsOrAll)
            if abs(w - w.rounded()) > 1e-9 { throw AllocationSearchError.fractionalStep(step: settings.step, cols: rowsOrAll) }
        }
        let scoring = Array(calibration[..<(calibration.count - h)]), heldOut = Array(calibration[(calibration.count - h)...])
        var scores: [Int: [Projection: [Float]]] = [:], dense: [Int: [Projection: [Float]]] = [:]
        var inputs = try scoring.map { try model.embed($0) }
        for i in 0...layerRange.upperBound {
            if layerRange.contains(i) {
                let stats = try gatherStatistics(layer: i, inputs: inputs)
                for p in configuration.matrices {
                    scores[i, default: [:]][p] = try self.scores(for: p, layer: i, statistics: stats)
                    dense[i, default: [:]][p] = model.linear(p, layer: i).weight
                }
            }
            if i < layerRange.upperBound {
                for s in inputs.indices { try model.runLayers(i..<(i + 1), hidden: &inputs[s]) }
            }
        }
        inputs = []
        var applied: [Int: Double] = [:]
        func fitness(_ allocation: [Int: Double]) throws -> Double {
            for (i, s) in allocation where applied[i] != s {
                for p in configuration.matrices {
                    var lin = model.linear(p, layer: i)
                    lin.weight = dense[i]![p]!
                    let mask = configuration.group == .row
                        ? MaskSelection.perRow(scores: scores[i]![p]!, rows: lin.outFeatures, cols: lin.inFeatures, sparsity: s)
                        : MaskSelection.perMatrix(scores: scores[i]![p]!, sparsity: s)
                    for j in mask.indices where mask[j] { lin.weight[j] = 0 }
                    model.setLinear(lin, p, layer: i)
                }
                applied[i] = s
            }
            return try model.meanNextTokenLoss(windows: heldOut)
        }
        let outcome = try AllocationSearch.search(layers: layers, sparsity: configuration.sparsity, settings: settings,
                                                  fitness: fitness) { done, loss, _ in self.allocationProgress?(done, settings.generations, loss) }
        for i in layers {
            for p in configuration.matrices {
                var lin = model.linear(p, layer: i)
                lin.weight = dense[i]![p]!
                model.setLinear(lin, p, layer: i)
            }
        }
        allocationLoss = outcome.fitness
        return outcome.allocation
    }

    /// One comparison group over every selected matrix (magnitude or random scores only).
    func pruneGlobally() throws {
        var all: [Float] = []
        var spans: [(Int, Projection, Int)] = []   // layer, projection, offset
        for i in layerRange {
            for p in configuration.matrices {
                spans.append((i, p, all.count))
                all += try scores(for: p, layer: i, statistics: LayerStatistics())
            }
        }
        let mask = MaskSelection.perMatrix(scores: all, sparsity: configuration.sparsity)
        for (i, p, offset) in spans {
            let n = model.linear(p, layer: i).weight.count
            apply(Array(mask[offset..<(offset + n)]), to: p, layer: i)
        }
        for i in layerRange { try finish(i) }
    }

    /// Block i is final: its report and zero count are taken, `layerFinished` sees it, and a
    /// streamed block is released.
    private var finished: [Int: (report: [String: MatrixReport]?, zeros: Int)] = [:]

    func use(_ i: Int) throws { try residency?.load(i) }

    func finish(_ i: Int) throws {
        guard finished[i] == nil else { return }
        finished[i] = (layerRange.contains(i) ? matrixReports(layer: i) : nil,
                       model.zeroParameterCount { $0.role.layer == i })
        try layerFinished?(i)
        residency?.release(i)
    }

    func matrixReports(layer i: Int) -> [String: MatrixReport] {
        var m: [String: MatrixReport] = [:]
        for p in configuration.matrices {
            let lin = model.linear(p, layer: i)
            let z = lin.weight.reduce(0) { $0 + ($1 == 0 ? 1 : 0) }
            m[p.rawValue] = MatrixReport(rows: lin.outFeatures, cols: lin.inFeatures,
                                         sparsityRequested: sparsity(for: p, layer: i), zeros: z,
                                         sparsity: Double(z) / Double(max(1, lin.weight.count)))
        }
        return m
    }

    func makeReport(calibration: [[Int32]], phases: [String: Double], seconds: Double) -> PruneReport {
        var layers: [String: [String: MatrixReport]] = [:]
        var prunable = 0, zeros = 0
        for i in layerRange {
            let m = finished[i]?.report ?? [:]
            for r in m.values { prunable += r.rows * r.cols; zeros += r.zeros }
            layers[String(i)] = m
        }
        let total = model.parameterCount
        let blockZeros = finished.values.reduce(0) { $0 + $1.zeros }
        let nonzero = total - blockZeros - model.zeroParameterCount { $0.role.layer == nil }
        return PruneReport(configuration: configuration, order: configuration.order.rawValue, nsamples: calibration.count,
                           seqlen: calibration.first?.count ?? 0, layers: layers, prunableWeights: prunable,
                           prunableZeros: zeros, sparsityAchieved: Double(zeros) / Double(max(1, prunable)),
                           paramsTotal: total, paramsNonzero: nonzero,
                           modelSparsity: Double(total - nonzero) / Double(max(1, total)),
                           secondsByPhase: phases, seconds: seconds,
                           permutationKeptScoreGain: keptScoreGain.isEmpty ? nil : keptScoreGain.reduce(0, +) / Double(keptScoreGain.count),
                           layerSparsity: layerSparsity.isEmpty ? nil : Dictionary(uniqueKeysWithValues: layerSparsity.map { (String($0.key), $0.value) }),
                           peakResidentMegabytes: ProcessMemory.peakResidentBytes().map { Double($0) / 1_048_576 },
                           dsnotSwaps: configuration.method == .dsnot ? dsnotSwaps : nil,
                           evolutionarySearch: configuration.method == .es ? searchSummary : nil,
                           allocationSearchLoss: configuration.allocation == .evopress ? allocationLoss : nil)
    }
}

/// One layer's calibration statistics, by linear-input site.
final class LayerStatistics {
    var norms: [LinearInputSite: ActivationNorms] = [:]
    var hessians: [LinearInputSite: HessianAccumulator] = [:]
    /// DSnoT's input moments, kept beside the norms when `keepsMoments`.
    var moments: [LinearInputSite: ActivationMoments] = [:]
    let keepsMoments: Bool
    /// Column norms beside the Hessians (the evolutionary search scores with one and measures with the other).
    let keepsNormsWithHessians: Bool
    /// The window being added, and the first held out (evolutionary search): from it on, Hessians go to
    /// `heldOutHessians` (norms still take every window).
    var window = 0
    var heldOutFrom: Int?
    var heldOutHessians: [LinearInputSite: HessianAccumulator] = [:]

    init(keepsMoments: Bool = false, keepsNormsWithHessians: Bool = false) {
        self.keepsMoments = keepsMoments
        self.keepsNormsWithHessians = keepsNormsWithHessians
    }

    /// Adds a rows × cols input of `site`: its Hessian 2XᵀX (SparseGPT) or column norms (Wanda, RIA).
    func add(_ site: LinearInputSite, _ x: UnsafePointer<Float>, rows: Int, cols: Int, hessian: Bool) {
        if hessian {
            if let from = heldOutFrom, window >= from {
                let acc = heldOutHessians[site] ?? HessianAccumulator(cols: cols)
                heldOutHessians[site] = acc
                acc.add(x, rows: rows)
            } else {
                let acc = hessians[site] ?? HessianAccumulator(cols: cols)
                hessians[site] = acc
                acc.add(x, rows: rows)
            }
        }
        if !hessian || keepsNormsWithHessians {
            let acc = norms[site] ?? ActivationNorms(columns: cols)
            norms[site] = acc
            acc.add(x, rows: rows)
            if keepsMoments {
                let m = moments[site] ?? ActivationMoments(columns: cols)
                moments[site] = m
                m.add(x, rows: rows)
            }
        }
    }
}
