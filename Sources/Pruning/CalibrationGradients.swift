import LLM

/// Gradients of the calibration loss for the gradient-based unstructured scores, taken once on
/// the dense model before any layer is pruned (as GBLM-Pruner's `gradient_computation.py` does:
/// one backward per calibration window of the mean next-token loss, accumulated per weight).
/// Only the accumulators the method reads are held, each model-sized:
/// - `gradient`: the mean gradient magnitude (1/N)·Σ_s |g_s| (the ℓ1 accumulation);
/// - `taylor`: the mean gradient (1/N)·Σ_s g_s, i.e. the gradient of the mean loss;
/// - `gblm`: the ℓ2 norm over windows √(Σ_s g_s²).
public struct CalibrationGradients: Sendable {
    public let method: PruneMethod
    /// The accumulated statistic named above, shaped like the model's parameters.
    public private(set) var statistic: ModelGradients
    public let windows: Int

    public static func collect(model: LanguageModel, windows: [[Int32]], method: PruneMethod,
                               windowGradient: (LanguageModel, [Int32]) throws -> ModelGradients
                                   = { try $0.gradients(tokens: $1).gradients },
                               progress: ((_ done: Int, _ total: Int) -> Void)? = nil) throws -> CalibrationGradients {
        guard method.needsGradients else { throw PruningError.invalidSetting("\(method.rawValue) does not score by gradients") }
        guard !windows.isEmpty else { throw PruningError.invalidSetting("\(method.rawValue) needs calibration windows for its gradients") }
        var acc = ModelGradients(like: model)
        let scale = method == .gblm ? 1 : 1 / Float(windows.count)
        for (k, w) in windows.enumerated() {
            let g = try windowGradient(model, w)
            if let bad = g.values.firstIndex(where: { !$0.isFinite }) {
                throw PruningError.numerical("the calibration gradient of window \(k) is not finite at \(g.name(containing: bad) ?? "index \(bad)")")
            }
            switch method {
            case .gradient: acc.addAbsolute(g, scale: scale)
            case .taylor: acc.add(g, scale: scale)
            default: acc.addSquared(g)
            }
            progress?(k + 1, windows.count)
        }
        if method == .gblm {
            acc.values.withUnsafeMutableBufferPointer { v in for j in v.indices { v[j] = v[j].squareRoot() } }
        }
        return CalibrationGradients(method: method, statistic: acc, windows: windows.count)
    }

    /// The statistic for one parameter tensor (its HF name).
    public func values(of name: String) throws -> [Float] {
        guard statistic.contains(name) else { throw PruningError.numerical("no calibration gradient for \(name)") }
        return statistic[name]
    }
}
