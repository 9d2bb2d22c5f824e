import ModelIO

public enum LLMError: Error, CustomStringConvertible {
    case missingTensor(String)
    case shapeMismatch(name: String, expected: [Int], found: [Int])
    case invalidConfig(String)
    case tokenOutOfRange(token: Int32, vocabSize: Int)
    case contextTooLong(requested: Int, capacity: Int)
    case nonFiniteWeights(String)

    public var description: String {
        switch self {
        case .missingTensor(let n): return "checkpoint has no tensor '\(n)'"
        case .shapeMismatch(let n, let e, let f): return "tensor '\(n)' has shape \(f), but the config implies \(e)"
        case .invalidConfig(let why): return "invalid model config: \(why)"
        case .tokenOutOfRange(let t, let v): return "token id \(t) is outside the vocabulary (size \(v))"
        case .contextTooLong(let r, let c): return "sequence of \(r) positions exceeds the KV cache capacity \(c)"
        case .nonFiniteWeights(let n): return "tensor '\(n)' contains NaN or infinite values"
        }
    }
}
