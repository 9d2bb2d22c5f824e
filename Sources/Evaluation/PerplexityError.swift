/// Why a perplexity could not be computed.
public enum PerplexityError: Error, CustomStringConvertible, Equatable {
    /// A window's mean loss is NaN or infinite: the model's weights or activations overflowed.
    case nonFiniteLoss(window: Int)
    /// A window needs at least two tokens (one prediction).
    case seqlenTooShort(Int)
    /// The decode pass runs token by token through every block; streamed blocks come one at a time.
    case streamedDecodePass
    /// The tokenizer produced an id the model has no logit for.
    case tokenOutOfVocabulary(token: Int, vocabulary: Int)

    public var description: String {
        switch self {
        case .nonFiniteLoss(let i):
            return "window \(i) produced a non-finite loss (NaN/Inf in weights or activations)"
        case .seqlenTooShort(let n):
            return "perplexity windows need at least 2 tokens (seqlen \(n))"
        case .streamedDecodePass:
            return "the decode pass needs every block in memory; measure streamed models with the prefill pass"
        case .tokenOutOfVocabulary(let t, let v):
            return "token id \(t) is outside the model's vocabulary of \(v); the tokenizer does not belong to this model"
        }
    }
}
