import Compute

/// The ggml types the engine runs in as stored (Compute/Encoded): the same block layouts.
extension BlockEncoding {
    /// The ggml type of the same layout.
    public var ggmlType: GGMLType {
        switch self {
        case .f32: return .f32
        case .f16: return .f16
        case .bf16: return .bf16
        case .q8_0: return .q8_0
        case .q4_0: return .q4_0
        case .q4_1: return .q4_1
        }
    }

    /// The encoding that runs a ggml type as stored; nil when there is no kernel for it.
    public init?(ggml type: GGMLType) {
        guard let e = BlockEncoding.allCases.first(where: { $0.ggmlType == type }) else { return nil }
        self = e
    }
}
