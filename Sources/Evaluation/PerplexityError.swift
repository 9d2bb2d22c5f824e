/// Why a perplexity could not be computed.
public enum PerplexityError: Error, CustomStringConvertible, Equatable {
    /// A window's mean loss is NaN or infinite: the model's weights or activations overflowed.
    case nonFiniteLoss(window: Int)

    public var description: String {
        switch self {
        case .nonFiniteLoss(let i):
            return "window \(i) produced a non-finite loss (NaN/Inf in weights or activations)"
        }
    }
}
