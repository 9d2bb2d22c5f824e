/// How the values of a weight matrix are held in memory for inference: plain float32, the
/// 16-bit floats, or one of ggml's block-quantized types kept in its blocks (so a GGUF's own
/// Q4_1 weights run as stored, and a float model can be held in 8 bits).
///
/// Every row is a run of blocks along the input dimension; a block holds `blockSize` values
/// in `bytesPerBlock` bytes, little-endian, exactly as ggml lays them out (the layouts are
/// documented where they are decoded: `EncodedRows`).
public enum BlockEncoding: String, CaseIterable, Codable, Sendable {
    case f32, f16, bf16, q8_0, q4_0, q4_1

    public var blockSize: Int {
        switch self {
        case .f32, .f16, .bf16: return 1
        case .q8_0, .q4_0, .q4_1: return 32
        }
    }

    public var bytesPerBlock: Int {
        switch self {
        case .f32: return 4
        case .f16, .bf16: return 2
        case .q8_0: return 34
        case .q4_0: return 18
        case .q4_1: return 20
        }
    }

    /// Bits each weight costs, block scales included (Q8_0: 8.5, Q4_1: 5).
    public var bitsPerWeight: Double { Double(8 * bytesPerBlock) / Double(blockSize) }

    /// Bytes of one row of `columns` values (a multiple of `blockSize`).
    public func rowBytes(columns: Int) -> Int { columns / blockSize * bytesPerBlock }
}
