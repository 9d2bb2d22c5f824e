import Compute
import LLM

/// Bytes of a model's weights in each storage format. Only the decoder-block linear layers
/// change format; the embedding / LM head and the norms stay dense (float32, or float16 in
/// the f16 column). A bias stays dense float32 in the sparse formats.
public struct WeightBytes: Codable, Sendable, Equatable {
    public var denseF32: Int
    public var denseF16: Int
    /// Every decoder matrix in CSR (float32 values, UInt16 columns, Int32 row starts).
    public var csr: Int
    /// Every decoder matrix packed N:M as `Linear.storeAsNM` holds it (float32 values; 2-bit
    /// offsets for 2:4 / 1:4 at widths of whole 32-column chunks, else 1-byte); nil when some
    /// matrix has no N:M pattern (`PackedNMMatrix.detectPattern`).
    public var packedNM: Int?
    /// Every decoder matrix as a bitmap with float32 values (`BitmapMatrix`); nil when some
    /// matrix's width is not a multiple of 32.
    public var bitmap: Int?
    /// As the model is held now (its current `LinearStorage`s).
    public var current: Int

    enum CodingKeys: String, CodingKey {
        case denseF32 = "dense_f32", denseF16 = "dense_f16", csr, packedNM = "packed_nm", bitmap, current
    }

    /// packed_nm and bitmap are written as null (not left out) when the model has no such storage.
    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(denseF32, forKey: .denseF32); try c.encode(denseF16, forKey: .denseF16)
        try c.encode(csr, forKey: .csr); try c.encode(packedNM, forKey: .packedNM)
        try c.encode(bitmap, forKey: .bitmap); try c.encode(current, forKey: .current)
    }

    public init(model: LanguageModel) {
        let f32 = MemoryLayout<Float>.size
        // Everything but the block matrices (their biases are counted with the matrices below).
        var other = model.parameters.reduce(0) { n, t in
            switch t.role { case .projection, .bias: return n; default: return n + t.count }
        }
        var matrices = 0, csr = 0, current = 0
        var nm: Int? = 0, bitmap: Int? = 0
        for i in 0..<model.layerCount {
            for p in model.projections {
                let lin = model.linear(p, layer: i)
                let biasCount = lin.bias?.count ?? 0
                other += biasCount
                matrices += lin.outFeatures * lin.inFeatures
                current += lin.weightBytes
                let nonzeros = lin.nonzeroWeightCount
                csr += CSRMatrix.bytes(nonzeros: nonzeros, rows: lin.outFeatures)
                bitmap = BitmapMatrix.fits(columns: lin.inFeatures)
                    ? bitmap.map { $0 + BitmapMatrix.bytes(rows: lin.outFeatures, columns: lin.inFeatures, nonzeros: nonzeros) } : nil
                if nm != nil {
                    let w = lin.denseWeight
                    let pattern = w.withUnsafeBufferPointer {
                        PackedNMMatrix.detectPattern(dense: $0.baseAddress!, rows: lin.outFeatures, columns: lin.inFeatures)
                    }
                    if let pattern {
                        nm! += SparseDecodeCost.packedBytes(rows: lin.outFeatures, columns: lin.inFeatures,
                                                    keep: pattern.keep, group: pattern.group)
                    } else {
                        nm = nil
                    }
                }
            }
        }
        denseF32 = (matrices + other) * f32
        denseF16 = (matrices + other) * 2
        self.csr = csr + other * f32
        packedNM = nm.map { $0 + other * f32 }
        self.bitmap = bitmap.map { $0 + other * f32 }
        self.current = current + other * f32
    }
}
