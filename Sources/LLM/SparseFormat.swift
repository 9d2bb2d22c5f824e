import Compute

/// Which storage `LanguageModel.useSparseFormat` gives the linear layers of the decoder blocks
/// (the embedding / LM head stays dense: it is not pruned). Recorded by its name ("auto", "csr").
public enum SparseFormat: String, CaseIterable, Codable, Sendable {
    /// Per matrix, the format with the lowest estimated decode cost (`SparseDecodeCost`).
    case auto
    case dense
    case csr
    /// Packed N:M; the pattern is detected per matrix (groups of 4, 8 or 16, at most half non-zero).
    case nm
}

/// What a conversion did: how many matrices went to each storage.
public struct SparseConversionSummary: Sendable, Equatable {
    public var matrices: [String: Int] = [:]
    public var description: String {
        matrices.keys.sorted().map { "\($0) \(matrices[$0]!)" }.joined(separator: ", ")
    }
}

/// Decode (batch 1) reads every stored byte of every matrix once per token, so `auto` ranks
/// formats by bytes times how long their kernel takes per byte. Measured once with
/// `secateur bench sparse` (1536×576 and 576×1536, weights streamed from memory, 2-core
/// EPYC; BENCHMARKS.md "Sparse inference"): per byte, the packed N:M kernel took 0.9–1.05×
/// the CSR kernel's time and dense OpenBLAS sgemm at batch 1 took 1.7–2.1×. Because the
/// sparse kernels are faster per byte than the dense path, `auto` also requires a sparse
/// format to be smaller than dense (CSR below density 2/3): a sparse format must save memory
/// too, never trade it for speed. A measured rule rather than a timing at conversion keeps
/// `auto` deterministic on a loaded machine.
public enum SparseDecodeCost {
    /// Time per byte relative to the CSR kernel.
    public static let nmPerByte = 1.05

    public static func dense(rows: Int, columns: Int) -> Int { rows * columns * MemoryLayout<Float>.size }
    public static func csr(rows: Int, nonzeros: Int) -> Double { Double(CSRMatrix.bytes(nonzeros: nonzeros, rows: rows)) }
    public static func nm(rows: Int, columns: Int, keep: Int, group: Int) -> Double {
        Double(packedBytes(rows: rows, columns: columns, keep: keep, group: group)) * nmPerByte
    }

    /// Bytes of the packed N:M storage `Linear.storeAsNM` picks (2-bit offsets for x:4).
    public static func packedBytes(rows: Int, columns: Int, keep: Int, group: Int) -> Int {
        if group == 4, Packed24Matrix.fits(columns: columns, keep: keep, encoding: .f32) {
            return rows * (columns / 4 * keep * MemoryLayout<Float>.size + columns / 32 * MemoryLayout<UInt32>.size)
        }
        return PackedNMMatrix.bytes(rows: rows, columns: columns, keep: keep, group: group)
    }

    /// The storage `auto` picks for a matrix with `nonzeros` non-zeros and an N:M pattern (if any).
    public static func choice(rows: Int, columns: Int, nonzeros: Int, pattern: (keep: Int, group: Int)?) -> SparseFormat {
        let denseBytes = Double(dense(rows: rows, columns: columns))
        var best = SparseFormat.dense, cost = Double.infinity
        if columns <= CSRMatrix.maxColumns, csr(rows: rows, nonzeros: nonzeros) < denseBytes {
            best = .csr; cost = csr(rows: rows, nonzeros: nonzeros)
        }
        if let p = pattern {
            let c = nm(rows: rows, columns: columns, keep: p.keep, group: p.group)
            if c < cost && Double(packedBytes(rows: rows, columns: columns, keep: p.keep, group: p.group)) < denseBytes {
                best = .nm
            }
        }
        return best
    }
}

extension Linear {
    /// Converts W to `format` (see `SparseFormat`); `name` labels errors.
    public mutating func useSparseFormat(_ format: SparseFormat, name: String) throws {
        storeDense()
        let rows = outFeatures, cols = inFeatures
        switch format {
        case .dense:
            return
        case .csr:
            try storeAsCSR()
        case .nm:
            guard let p = nmPattern() else { throw SparseFormatError.noNMPattern(name: name, tried: [4, 8, 16]) }
            try storeAsNM(keep: p.keep, group: p.group)
        case .auto:
            let p = nmPattern()
            switch SparseDecodeCost.choice(rows: rows, columns: cols, nonzeros: nonzeroWeightCount, pattern: p) {
            case .csr: try storeAsCSR()
            case .nm: try storeAsNM(keep: p!.keep, group: p!.group)
            default: return
            }
        }
    }

    private func nmPattern() -> (keep: Int, group: Int)? {
        weight.withUnsafeBufferPointer { PackedNMMatrix.detectPattern(dense: $0.baseAddress!, rows: outFeatures, columns: inFeatures) }
    }
}
