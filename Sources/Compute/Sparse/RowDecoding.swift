import DecodeKernels

/// Storage that writes rows r0..<r1 of its matrix W [rows × columns] as dense float32 (zeros
/// included). The dense copy and the several-token product (decoded slices of W times x with
/// BLAS, `SparseProducts.densifiedProduct`) follow from that alone.
public protocol RowDecoding {
    var rows: Int { get }
    var columns: Int { get }
    func decodeRows(_ r0: Int, _ r1: Int, into dst: UnsafeMutablePointer<Float>)
}

extension RowDecoding {
    /// The dense row-major matrix, zeros included.
    public func densified() -> [Float] {
        var out = [Float](repeating: 0, count: rows * columns)
        if rows > 0 { out.withUnsafeMutableBufferPointer { decodeRows(0, rows, into: $0.baseAddress!) } }
        return out
    }

    /// y[n × rows] = x[n × columns] · Wᵀ (+ y) over slices of W decoded to float32.
    func decodedSliceProduct(_ x: UnsafePointer<Float>, tokens n: Int, into y: UnsafeMutablePointer<Float>, accumulate: Bool) {
        SparseProducts.densifiedProduct(outputs: rows, inputs: columns, tokens: n, x: x, y: y, accumulate: accumulate,
                                        zeroFill: false) { r0, r1, w in decodeRows(r0, r1, into: w) }
    }
}

extension BlockEncoding {
    /// The decode kernels' name for a value encoding of packed 2:4 and bitmap storage (nil: the
    /// kernels read no such values).
    var sparseValueType: Int32? {
        switch self {
        case .f32: return Int32(DK_F32)
        case .f16: return Int32(DK_F16)
        case .bf16: return Int32(DK_BF16)
        case .q8_0: return Int32(DK_VALUES_Q8_0)
        case .q4_0, .q4_1: return nil
        }
    }
}
