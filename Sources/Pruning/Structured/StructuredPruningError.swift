/// Why a structured pruning request cannot be carried out, with what to change.
public enum StructuredPruningError: Error, CustomStringConvertible, Equatable {
    /// The requested share of the model's parameters cannot be removed inside the chosen layers.
    case ratioUnreachable(requested: Double, maximum: Double, scope: String)
    /// The ratio is below the maximum but the groups are too coarse to land within the tolerance.
    case ratioNotRepresentable(requested: Double, below: Double?, above: Double?, granularity: String)
    /// Taylor importance was asked for but no gradient provider was given.
    case gradientsUnavailable
    case invalidSetting(String)

    public var description: String {
        func pct(_ x: Double) -> String { String(format: "%.2f %%", x * 100) }
        switch self {
        case let .ratioUnreachable(r, m, scope):
            return "ratio \(pct(r)) of the model's parameters is unreachable when pruning \(scope): "
                + "at most \(pct(m)) can be removed there (one KV group and one MLP channel stay in every pruned layer); "
                + "lower the ratio or widen attn_layers/mlp_layers"
        case let .ratioNotRepresentable(r, below, above, granularity):
            let options = [below, above].compactMap { $0 }.map(pct).joined(separator: " or ")
            return "ratio \(pct(r)) cannot be met within 0.5 points: \(granularity); nearest reachable: \(options)"
        case .gradientsUnavailable:
            return "taylor importance needs gradient statistics (a backward pass over calibration windows), and none were given"
        case let .invalidSetting(why):
            return "invalid structured pruning setting: \(why)"
        }
    }
}
