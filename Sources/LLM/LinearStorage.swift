import Compute

/// How a linear layer's weight W is held for inference. Dense is what pruning edits (zeros
/// in place); the sparse formats hold only the non-zeros and run their own kernels
/// (Compute/Sparse), so a pruned model streams fewer bytes per decoded token.
public enum LinearStorage: Sendable {
    case dense
    case csr(CSRMatrix)
    case nm(PackedNMMatrix)

    public var name: String {
        switch self {
        case .dense: return "dense"
        case .csr: return "csr"
        case .nm(let m): return "\(m.group - m.keep):\(m.group)"
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
        }
    }

    /// Weights that are not exactly zero (bias excluded).
    public var nonzeroWeightCount: Int {
        switch storage {
        case .dense: return weight.reduce(0) { $1 != 0 ? $0 + 1 : $0 }
        case .csr(let m): return m.nonzeroCount
        case .nm(let m): return m.nonzeroCount
        }
    }

    /// Bytes W occupies in its current storage (bias excluded).
    public var weightBytes: Int {
        switch storage {
        case .dense: return weight.count * MemoryLayout<Float>.size
        case .csr(let m): return m.bytes
        case .nm(let m): return m.bytes
        }
    }

    /// Holds W as CSR; `weight` is emptied (the dense copy is what sparse storage saves).
    public mutating func storeAsCSR() throws {
        let w = denseWeight
        storage = .csr(try CSRMatrix(dense: w, rows: outFeatures, columns: inFeatures))
        weight = []
    }

    /// Holds W packed N:M (at most `keep` non-zeros in each `group` consecutive inputs).
    public mutating func storeAsNM(keep: Int, group: Int) throws {
        let w = denseWeight
        storage = .nm(try PackedNMMatrix(dense: w, rows: outFeatures, columns: inFeatures, keep: keep, group: group))
        weight = []
    }

    /// Back to dense storage (what pruning and writing need).
    public mutating func storeDense() {
        if case .dense = storage { return }
        weight = denseWeight
        storage = .dense
    }
}
