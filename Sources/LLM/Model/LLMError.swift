import ModelIO

public enum LLMError: Error, CustomStringConvertible {
    case invalidConfig(String)
    case tokenOutOfRange(token: Int32, vocabSize: Int)
    case contextTooLong(requested: Int, capacity: Int)
    /// Generation needs at least one prompt token.
    case emptyPrompt
    /// Streaming blocks from the checkpoint is implemented for some families only.
    case streamingUnsupported(architecture: String)

    public var description: String {
        switch self {
        case .invalidConfig(let why): return "invalid model config: \(why)"
        case .tokenOutOfRange(let t, let v): return "token id \(t) is outside the vocabulary (size \(v))"
        case .contextTooLong(let r, let c): return "sequence of \(r) positions exceeds the KV cache capacity \(c)"
        case .emptyPrompt: return "the prompt is empty: generation needs at least one token"
        case .streamingUnsupported(let a): return "streaming blocks is implemented for the Llama family, not \(a) yet"
        }
    }
}
