/// Why a dense matrix cannot be held in a sparse storage format.
public enum SparseFormatError: Error, CustomStringConvertible, Equatable {
    /// UInt16 column indices address at most 65,536 input features.
    case tooManyColumns(columns: Int, limit: Int)
    /// The matrix's width is not a multiple of the N:M group size.
    case columnsNotMultipleOfGroup(columns: Int, group: Int)
    /// A group of `group` consecutive inputs holds more than `keep` non-zeros.
    case notNM(keep: Int, group: Int, row: Int, column: Int, nonzeros: Int)
    /// keep/group outside 1 ≤ keep ≤ group ≤ 256.
    case invalidPattern(keep: Int, group: Int)
    /// Values in an encoding the format's kernel does not read.
    case valueEncoding(String, format: String, allowed: [String])
    /// More weights than 32-bit value offsets address.
    case tooManyWeights(Int)
    /// No group size in the tried list leaves at most half of each group non-zero.
    case noNMPattern(name: String, tried: [Int])

    public var description: String {
        switch self {
        case .tooManyColumns(let c, let l):
            return "a CSR matrix with UInt16 column indices holds at most \(l) columns; this one has \(c); keep it dense"
        case .columnsNotMultipleOfGroup(let c, let g):
            return "\(c) input features are not a multiple of the N:M group size \(g)"
        case .notNM(let k, let g, let r, let c, let n):
            return "matrix is not \(k):\(g) sparse: row \(r), columns \(c)..<\(c + g) hold \(n) non-zeros (at most \(k) allowed); prune it with pattern \(g - k):\(g), or store it as csr"
        case .invalidPattern(let k, let g):
            return "invalid N:M pattern keep \(k) of \(g) (need 1 ≤ keep ≤ group ≤ 256)"
        case .valueEncoding(let e, let format, let allowed):
            return "\(format) storage holds its values in \(allowed.joined(separator: ", ")), not \(e)"
        case .tooManyWeights(let n):
            return "a matrix of \(n) weights is too large for bitmap storage (at most \(Int32.max)); keep it dense"
        case .noNMPattern(let name, let tried):
            return "\(name) is not N:M sparse (no group size among \(tried) has at most half of every group non-zero); prune it with an N:M pattern such as 2:4, or store it as csr (or auto)"
        }
    }
}
