import LLM

/// Solves channel-wise pruning for an exact whole-model ratio. Every weight of a Llama model
/// except the q/k/v biases has one axis of hidden width, so the parameter count is affine in the
/// kept width d′: P(d′) = B + (P − B)·d′/d, B the bias parameters — the kept width is solved in
/// closed form (one hidden channel is about 1/d of the model, 0.17 points for d = 576).
public enum HiddenChannelBudget {
    /// Parameters that do not scale with the hidden width (q/k/v biases).
    static func fixedParameters(_ model: LanguageModel) -> Int {
        model.parameters.filter { !$0.axes.contains(.hidden) }.reduce(0) { $0 + $1.count }
    }

    /// Parameter count of the model with `width` hidden channels.
    public static func parameters(_ model: LanguageModel, width: Int) -> Int {
        let b = fixedParameters(model)
        return b + (model.parameterCount - b) / model.hiddenSize * width
    }

    /// Hidden channels to keep.
    public static func solve(model: LanguageModel, ratio: Double, mode: RatioMode) throws -> Int {
        let d = model.hiddenSize
        if mode == .layer { return max(1, Int(Double(d) * (1 - ratio))) }
        let total = Double(model.parameterCount), b = Double(fixedParameters(model))
        let slope = (total - b) / Double(d)
        let keep = Int(((total * (1 - ratio) - b) / slope).rounded())
        let maxRatio = 1 - Double(parameters(model, width: 1)) / total
        if keep < 1 {
            throw StructuredPruningError.ratioUnreachable(requested: ratio, maximum: maxRatio, scope: "hidden channels (one must stay)")
        }
        let w = min(d - 1, keep)
        let got = 1 - Double(parameters(model, width: w)) / total
        if abs(got - ratio) > BlockBudget.tolerance {
            throw StructuredPruningError.ratioNotRepresentable(requested: ratio, below: got < ratio ? got : nil,
                                                               above: got > ratio ? got : nil,
                                                               granularity: "one hidden channel is \(String(format: "%.2f", 100 / Double(d))) points")
        }
        return w
    }
}
