import Compute

/// How a linear layer's weight W is held for inference. Dense is what pruning edits (zeros
/// in place); the sparse formats hold only the non-zeros and run their own kernels
/// (Compute/Sparse), so a pruned model streams fewer bytes per decoded token; the encoded
/// storage holds every value in 16 bits or in ggml blocks (Compute/Encoded) for the same reason.
public enum LinearStorage: Sendable {
    case dense
    case csr(CSRMatrix)
    case nm(PackedNMMatrix)
    /// 2:4 or 1:4 with 2-bit offsets and encoded values (`Packed24Matrix`), the decode format.
    case packed24(Packed24Matrix)
    case encoded(EncodedMatrix)
    /// Unstructured: a bit per weight and the kept values in f32, f16 or bf16 (`BitmapMatrix`).
    case bitmap(BitmapMatrix)

    public var name: String {
        switch self {
        case .dense: return "dense"
        case .csr: return "csr"
        case .nm(let m): return "\(m.group - m.keep):\(m.group)"
        case .packed24(let m): return "\(4 - m.keep):4" + (m.valueEncoding == .f32 ? "" : " \(m.valueEncoding.rawValue)")
        case .encoded(let m): return m.encoding.rawValue
        case .bitmap(let m): return "bitmap" + (m.valueEncoding == .f32 ? "" : " \(m.valueEncoding.rawValue)")
        }
    }
}

extension Linear {
    /// W as a dense row-major [out × in] array, whatever the storage.
    public var denseWeight: [Float] {
        switch storage {
        case .dense: return weight
        case .csr(let m): return m.densified()
        case .nm(let m): return m.densified()
        case .packed24(let m): return m.densified()
        case .encoded(let m): return m.densified()
        case .bitmap(let m): return m.densified()
        }
    }

    /// Weights that are not exactly zero (bias excluded).
    public var nonzeroWeightCount: Int {
        switch storage {
        case .dense: return weight.reduce(0) { $1 != 0 ? $0 + 1 : $0 }
        case .csr(let m): return m.nonzeroCount
        case .nm(let m): return m.nonzeroCount
        case .packed24(let m): return m.nonzeroCount
        case .encoded(let m): return m.densified().reduce(0) { $1 != 0 ? $0 + 1 : $0 }
        case .bitmap(let m): return m.nonzeroCount
        }
    }

    /// Bytes W occupies in its current storage (bias excluded).
    public var weightBytes: Int {
        switch storage {
        case .dense: return weight.count * MemoryLayout<Float>.size
        case .csr(let m): return m.bytes
        case .nm(let m): return m.bytes
        case .packed24(let m): return m.bytes
        case .encoded(let m): return m.bytes
        case .bitmap(let m): return m.bytes
        }
    }

    /// Holds W as CSR; `weight` is emptied (the dense copy is what sparse storage saves).
    public mutating func storeAsCSR() throws {
        let w = denseWeight
        storage = .csr(try CSRMatrix(dense: w, rows: outFeatures, columns: inFeatures))
        weight = []
    }

    /// Holds W as a bitmap of kept weights and their float32 values.
    public mutating func storeAsBitmap() throws {
        let w = denseWeight
        storage = .bitmap(try w.withUnsafeBufferPointer {
            try BitmapMatrix(dense: $0.baseAddress!, rows: outFeatures, columns: inFeatures)
        })
        weight = []
    }

    /// Holds W packed N:M (at most `keep` non-zeros in each `group` consecutive inputs): 2:4 and
    /// 1:4 in the decode format with 2-bit offsets where the width allows, else `PackedNMMatrix`.
    public mutating func storeAsNM(keep: Int, group: Int) throws {
        let w = denseWeight
        if group == 4, Packed24Matrix.fits(columns: inFeatures, keep: keep, encoding: .f32) {
            storage = .packed24(try w.withUnsafeBufferPointer {
                try Packed24Matrix(dense: $0.baseAddress!, rows: outFeatures, columns: inFeatures, keep: keep, encoding: .f32) { v, _ in
                    v.withUnsafeBytes { [UInt8]($0) }
                }
            })
        } else {
            storage = .nm(try PackedNMMatrix(dense: w, rows: outFeatures, columns: inFeatures, keep: keep, group: group))
        }
        weight = []
    }

    /// Back to dense storage (what pruning and writing need).
    public mutating func storeDense() {
        if case .dense = storage { return }
        weight = denseWeight
        storage = .dense
    }
}
