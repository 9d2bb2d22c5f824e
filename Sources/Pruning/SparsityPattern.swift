/// Which weights may be zeroed together: any (unstructured), or exactly `n` of every `m`
/// consecutive weights along the input dimension of each row (N:M, e.g. 2:4 for Ampere's
/// sparse tensor cores; Mishra et al. 2021).
public enum SparsityPattern: Equatable, Sendable, CustomStringConvertible {
    case unstructured
    case nOfM(n: Int, m: Int)          // n zeros in every group of m

    /// Parses "unstructured" or "N:M".
    public init(parsing s: String) throws {
        if s == "unstructured" { self = .unstructured; return }
        let parts = s.split(separator: ":")
        guard parts.count == 2, let n = Int(parts[0]), let m = Int(parts[1]) else {
            throw PruningError.invalidSetting("pattern '\(s)' is neither 'unstructured' nor N:M (e.g. 2:4)")
        }
        guard n > 0, m > 0, n < m else {
            throw PruningError.invalidSetting("N:M pattern needs 0 < N < M, got \(n):\(m)")
        }
        self = .nOfM(n: n, m: m)
    }

    public var description: String {
        switch self {
        case .unstructured: return "unstructured"
        case .nOfM(let n, let m): return "\(n):\(m)"
        }
    }

    /// The sparsity an N:M pattern implies (n/m); nil for unstructured.
    public var impliedSparsity: Double? {
        if case .nOfM(let n, let m) = self { return Double(n) / Double(m) }
        return nil
    }
}

/// A pattern is recorded as the text that names it ("unstructured", "2:4"), as users write it.
extension SparsityPattern: Codable {
    public init(from decoder: Decoder) throws {
        self = try SparsityPattern(parsing: try decoder.singleValueContainer().decode(String.self))
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(description)
    }
}
