import LLM

/// Gradients of the calibration loss that Taylor importance needs, shaped like the model.
///
/// LLM-Pruner (hf_prune.py) takes the gradient of the mean next-token loss over N calibration
/// examples (default 10 sequences of 64 tokens from BookCorpus), which for equal-length windows is
/// the mean of the per-window gradients, and for the second-order term accumulates
/// `acc_grad = Σ_j g_j² / N` over the per-window gradients g_j — the diagonal of the empirical
/// Fisher information, used in place of the Hessian.
public struct TaylorStatistics: Sendable {
    /// Gradient of the mean calibration loss (first-order term).
    public var gradient: ModelGradients
    /// Σ_j g_j² / N over calibration windows (diagonal Fisher); nil when only first order is needed.
    public var fisher: ModelGradients?
    public var windows: Int

    public init(gradient: ModelGradients, fisher: ModelGradients?, windows: Int) {
        self.gradient = gradient; self.fisher = fisher; self.windows = windows
    }

    /// Accumulates both statistics from one gradient per window, as LLM-Pruner does, holding
    /// only two model-sized accumulators whatever the number of windows.
    public static func collect(model: LanguageModel, windows: [[Int32]], withFisher: Bool,
                               windowGradient: (LanguageModel, [Int32]) throws -> ModelGradients
                                   = { try $0.gradients(tokens: $1).gradients }) throws -> TaylorStatistics {
        guard !windows.isEmpty else { throw StructuredPruningError.invalidSetting("Taylor importance needs at least one calibration window") }
        var mean = ModelGradients(like: model)
        var fisher = withFisher ? ModelGradients(like: model) : nil
        let scale = 1 / Float(windows.count)
        for (k, w) in windows.enumerated() {
            let g = try windowGradient(model, w)
            if let bad = g.values.firstIndex(where: { !$0.isFinite }) {
                throw PruningError.numerical("the calibration gradient of window \(k) is not finite at \(g.name(containing: bad) ?? "index \(bad)")")
            }
            mean.add(g, scale: scale)
            fisher?.addSquared(g, scale: scale)
        }
        return TaylorStatistics(gradient: mean, fisher: fisher, windows: windows.count)
    }
}

/// Supplies Taylor statistics for a model over calibration windows. The pruner collects them
/// with the model's own backward by default; tests plug in known gradients here.
public typealias TaylorStatisticsProvider = (LanguageModel, [[Int32]]) throws -> TaylorStatistics
