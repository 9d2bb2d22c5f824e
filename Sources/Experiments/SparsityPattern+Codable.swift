import Pruning

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
