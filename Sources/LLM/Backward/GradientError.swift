/// Why a gradient computation was refused. Raised before any work is done, so an
/// accumulator passed in is left untouched.
public enum GradientError: Error, CustomStringConvertible, Equatable {
    /// The next-token loss needs at least one (input, target) pair.
    case tooFewTokens(count: Int)
    case tokenOutOfRange(position: Int, token: Int32, vocabSize: Int)
    /// The accumulator was made for a model of another shape (e.g. before structured pruning).
    case shapeMismatch(String)
    /// The family has no backward pass yet.
    case unsupportedArchitecture(String)

    public var description: String {
        switch self {
        case .tooFewTokens(let n):
            return "a gradient window needs at least 2 tokens (the loss predicts token t+1 from tokens ≤ t); got \(n)"
        case .tokenOutOfRange(let p, let t, let v):
            return "token id \(t) at position \(p) is outside the vocabulary (0..<\(v)); were the windows tokenized with this model's tokenizer?"
        case .shapeMismatch(let what):
            return "gradient accumulator does not match the model: \(what); create it with ModelGradients(like: model) after the model's last change"
        case .unsupportedArchitecture(let a):
            return "gradients are not implemented for the \(a) architecture yet"
        }
    }
}

extension LanguageModel {
    /// The checks every family's `accumulateGradients` makes before any work.
    func checkGradientInputs(tokens: [Int32], gradients: ModelGradients) throws {
        guard tokens.count >= 2 else { throw GradientError.tooFewTokens(count: tokens.count) }
        if let p = tokens.firstIndex(where: { $0 < 0 || Int($0) >= vocabSize }) {
            throw GradientError.tokenOutOfRange(position: p, token: tokens[p], vocabSize: vocabSize)
        }
        if let why = gradients.mismatch(with: self) { throw GradientError.shapeMismatch(why) }
    }
}
