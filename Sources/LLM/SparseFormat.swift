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
    /// A bit per weight and the kept values (`BitmapMatrix`); CSR for widths not a multiple of 32.
    case bitmap
}

/// What a conversion did: how many matrices went to each storage.
public struct SparseConversionSummary: Sendable, Equatable {
    public var matrices: [String: Int] = [:]
    public var description: String {
        matrices.keys.sorted().map { "\($0) \(matrices[$0]!)" }.joined(separator: ", ")
    }
}

/// Decode (batch 1) reads every stored byte of every matrix once per token, so `auto` ranks
/// formats by bytes times how long their kernel takes per byte, relative to dense float32.
/// Measured with `secateur bench sparse --threads 2` (1536×576 and 576×1536, one token, weights
/// streamed from memory; 2026-12-06, after the C kernels; BENCHMARKS.md "Decode"): the 2:4
/// decode format ran 1.61–1.76× dense for 0.53 of the bytes (1.07–1.17 per byte); CSR 1.40–1.87×
/// at density 0.3 and 0.69–0.90× at 0.5 (1.2–1.9 per byte: its gather is compute-bound, so the
/// cost per byte rises with density; 1.5 puts the crossover at about 45 % density, where the
/// runs placed it); the general packed N:M kernel (byte offsets) 0.65–0.81× for 0.625 of the
/// bytes (2.0–2.5 per byte). The bitmap kernel costs the same per weight whatever the density
/// (2026-12-07, 1536×576, three runs each: 0.50–0.80 of dense's time at densities 0.1, 0.3 and
/// 0.5: its vector work per 8 columns, not its bytes, sets the pace), so it is priced per weight
/// at 0.7 of dense, or by its bytes where those weigh more. So a 2:4 model decodes in the 2:4
/// format, a 50 % unstructured one as a bitmap and a 70 % one in CSR. A sparse format must also
/// be smaller than dense: it never trades memory for speed. A measured rule rather than a timing
/// at conversion keeps `auto` deterministic on a loaded machine.
public enum SparseDecodeCost {
    /// Time per byte relative to dense float32.
    public static let csrPerByte = 1.5
    public static let packed24PerByte = 1.15
    public static let nmPerByte = 2.2
    /// The bitmap kernel's time per weight relative to dense float32 (a floor: below it the
    /// kernel's vector work, not its bytes, sets the pace).
    public static let bitmapPerWeight = 0.7

    public static func dense(rows: Int, columns: Int) -> Int { rows * columns * MemoryLayout<Float>.size }
    public static func csr(rows: Int, nonzeros: Int) -> Double {
        Double(CSRMatrix.bytes(nonzeros: nonzeros, rows: rows)) * csrPerByte
    }
    public static func nm(rows: Int, columns: Int, keep: Int, group: Int) -> Double {
        let packed24 = group == 4 && Packed24Matrix.fits(columns: columns, keep: keep, encoding: .f32)
        return Double(packedBytes(rows: rows, columns: columns, keep: keep, group: group)) * (packed24 ? packed24PerByte : nmPerByte)
    }

    public static func bitmap(rows: Int, columns: Int, nonzeros: Int) -> Double {
        max(Double(BitmapMatrix.bytes(rows: rows, columns: columns, nonzeros: nonzeros)),
            bitmapPerWeight * Double(dense(rows: rows, columns: columns)))
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
        var best = SparseFormat.dense, cost = denseBytes
        if columns <= CSRMatrix.maxColumns, Double(CSRMatrix.bytes(nonzeros: nonzeros, rows: rows)) < denseBytes,
           csr(rows: rows, nonzeros: nonzeros) < cost {
            best = .csr; cost = csr(rows: rows, nonzeros: nonzeros)
        }
        if BitmapMatrix.fits(columns: columns), Double(BitmapMatrix.bytes(rows: rows, columns: columns, nonzeros: nonzeros)) < denseBytes,
           bitmap(rows: rows, columns: columns, nonzeros: nonzeros) < cost {
            best = .bitmap; cost = bitmap(rows: rows, columns: columns, nonzeros: nonzeros)
        }
        if let p = pattern, Double(packedBytes(rows: rows, columns: columns, keep: p.keep, group: p.group)) < denseBytes,
           nm(rows: rows, columns: columns, keep: p.keep, group: p.group) < cost {
            best = .nm
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
        case .bitmap:
            // The kernel reads 32 columns at a time; other widths (structured pruning) go to CSR.
            if BitmapMatrix.fits(columns: cols) { try storeAsBitmap() } else { try storeAsCSR() }
        case .nm:
            guard let p = nmPattern() else { throw SparseFormatError.noNMPattern(name: name, tried: [4, 8, 16]) }
            try storeAsNM(keep: p.keep, group: p.group)
        case .auto:
            let p = nmPattern()
            switch SparseDecodeCost.choice(rows: rows, columns: cols, nonzeros: nonzeroWeightCount, pattern: p) {
            case .csr: try storeAsCSR()
            case .bitmap: try storeAsBitmap()
            case .nm: try storeAsNM(keep: p!.keep, group: p!.group)
            default: return
            }
        }
    }

    private func nmPattern() -> (keep: Int, group: Int)? {
        weight.withUnsafeBufferPointer { PackedNMMatrix.detectPattern(dense: $0.baseAddress!, rows: outFeatures, columns: inFeatures) }
    }
}
