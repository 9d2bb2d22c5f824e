import Compute
import Foundation
import ModelIO

/// How a model's matrices are held while it runs (`--weights`): decode streams every weight
/// once per token, so fewer bytes per weight is more tokens per second. The block matrices
/// still held dense and the LM head are converted; the embedding lookup, norms and biases stay
/// float32; CSR and general packed N:M keep their float32 values, packed 2:4 and bitmap
/// storage re-encode theirs. Pruning, training and writing read float32: `useWeights(.f32)` restores it (exactly for f32 sources).
public enum WeightEncoding: String, CaseIterable, Codable, Sendable {
    case f32, f16, bf16, q8_0, q4_0
    /// Each matrix in the encoding its file stores it in (a GGUF's Q4_1/Q4_0/Q8_0/F16/BF16
    /// blocks as they are; safetensors' F16/BF16); float32 where there is no kernel for it.
    case native

    /// The one encoding every matrix gets (nil for `native`, which is decided per matrix).
    public var blockEncoding: BlockEncoding? {
        switch self {
        case .f32: return .f32
        case .f16: return .f16
        case .bf16: return .bf16
        case .q8_0: return .q8_0
        case .q4_0: return .q4_0
        case .native: return nil
        }
    }
}

/// What a weight conversion did: matrices (LM head included) per storage name, dense float32
/// counted as "f32".
public struct WeightConversionSummary: Sendable, Equatable {
    public var matrices: [String: Int] = [:]

    mutating func count(_ storage: LinearStorage) {
        if case .dense = storage { matrices["f32", default: 0] += 1 } else { matrices[storage.name, default: 0] += 1 }
    }

    public var description: String {
        matrices.keys.sorted().map { "\($0) \(matrices[$0]!)" }.joined(separator: ", ")
    }
}

extension Linear {
    /// Holds W in `encoding` (float32 bytes for f32: dense storage). A matrix whose rows are not
    /// whole blocks (a pruned width such as 733) falls back to f16, as llama.cpp's converter
    /// does. Packed 2:4 storage re-encodes its kept values (Q4 types as Q8_0), bitmap storage
    /// its kept values (8- and 4-bit types as f16); CSR and general N:M are left as they are.
    /// Returns the storage used.
    @discardableResult
    public mutating func storeEncoded(_ encoding: BlockEncoding) throws -> String {
        switch storage {
        case .csr, .nm: return storage.name
        case .packed24(let m):
            // Re-encode the kept values (whole blocks of them, else f16); the packed kernel reads
            // 8- and 16-bit values, so a 4-bit type holds them in Q8_0.
            let kept = m.densifiedValues()
            let wanted = Packed24Matrix.valueEncodings.contains(encoding) ? encoding : .q8_0
            let e = Packed24Matrix.fits(columns: m.columns, keep: m.keep, encoding: wanted) ? wanted : .f16
            storage = .packed24(try m.withValues(try EncodedMatrix(kept, rows: outFeatures, columns: m.keptPerRow, as: e)))
            return storage.name
        case .bitmap(let m):
            // The bitmap kernel reads 32- and 16-bit values: 8- and 4-bit types keep them in f16.
            storage = .bitmap(try m.withValueEncoding(BitmapMatrix.valueEncodings.contains(encoding) ? encoding : .f16))
            return storage.name
        case .dense, .encoded: break
        }
        storeDense()
        var e = encoding
        if inFeatures % e.blockSize != 0 { e = .f16 }
        guard e != .f32, outFeatures > 0, inFeatures > 0 else { return storage.name }
        storage = .encoded(try EncodedMatrix(weight, rows: outFeatures, columns: inFeatures, as: e))
        weight = []
        return storage.name
    }
}

extension EncodedMatrix {
    /// W [rows × columns] float32 encoded by ggml's reference quantizers (`GGMLQuantize`).
    public init(_ w: [Float], rows: Int, columns: Int, as e: BlockEncoding) throws {
        let bytes = try GGMLQuantize.encode(w, rowLength: columns, as: e.ggmlType)
        try self.init(encoding: e, rows: rows, columns: columns, bytes: [UInt8](bytes))
    }
}

extension LanguageModel {
    /// Holds every block matrix and the LM head in `encoding` for inference (f32: back to
    /// float32 storage and the float32 head).
    @discardableResult
    public func useWeights(_ encoding: BlockEncoding) throws -> WeightConversionSummary {
        var summary = WeightConversionSummary()
        for i in 0..<layerCount {
            for p in projections {
                var l = linear(p, layer: i)
                try l.storeEncoded(encoding)
                summary.count(l.storage)
                setLinear(l, p, layer: i)
            }
        }
        if encoding == .f32 {
            encodedHead = nil
        } else {
            let e = headInputSize % encoding.blockSize == 0 ? encoding : .f16
            let head = withHeadWeights { Array(UnsafeBufferPointer(start: $0, count: vocabSize * headInputSize)) }
            encodedHead = try EncodedMatrix(head, rows: vocabSize, columns: headInputSize, as: e)
        }
        summary.matrices[encodedHead?.encoding.rawValue ?? "f32", default: 0] += 1
        return summary
    }
}

/// Why a model's own stored encoding cannot be used.
public enum WeightEncodingError: Error, CustomStringConvertible {
    /// The model in memory no longer equals its file (pruned or trained since loading).
    case changedSinceLoading(tensor: String)

    public var description: String {
        switch self {
        case .changedSinceLoading(let t):
            return "'\(t)' differs from the tensor stored in the model's file (it was changed after loading), so the file's own encoding cannot stand for it; choose f32, f16, bf16, q8_0 or q4_0"
        }
    }
}

extension LoadedModel {
    /// Holds the model's matrices in `weights` for inference (see `WeightEncoding`).
    @discardableResult
    public func useWeights(_ weights: WeightEncoding) throws -> WeightConversionSummary {
        if let e = weights.blockEncoding { return try model.useWeights(e) }
        return try useNativeWeights()
    }

    /// Each block matrix and the head in the encoding its file stores it in. GGUF blocks are
    /// taken byte for byte (q/k rows un-permuted as whole rows); safetensors' 16-bit tensors are
    /// re-encoded from the float32 copy, which they convert to and from exactly. Every matrix
    /// is checked against the model in memory first, so a pruned model is refused, not misrun.
    private func useNativeWeights() throws -> WeightConversionSummary {
        let model = self.model
        _ = try model.useWeights(.f32)
        let stored: (String, [Float], Int, Int) throws -> EncodedMatrix?
        switch location {
        case .gguf(let url):
            let checkpoint = try GGUFCheckpoint(path: url.path)
            stored = { name, _, rows, columns in
                guard let t = try checkpoint.storedRows(name), let e = BlockEncoding(ggml: t.type), e != .f32,
                      t.rows == rows, t.columns == columns else { return nil }
                return try EncodedMatrix(encoding: e, rows: rows, columns: columns, bytes: t.bytes)
            }
        case .huggingFaceDirectory(let dir):
            let weights = try SafetensorsDirectory(directory: dir.path)
            stored = { name, w, rows, columns in
                switch weights.dtype(of: name) {
                case .f16?: return try EncodedMatrix(w, rows: rows, columns: columns, as: .f16)
                case .bf16?: return try EncodedMatrix(w, rows: rows, columns: columns, as: .bf16)
                default: return nil
                }
            }
        }
        func encoded(_ name: String, _ w: [Float], rows: Int, columns: Int) throws -> EncodedMatrix? {
            guard rows > 0, columns > 0, let m = try stored(name, w, rows, columns) else { return nil }
            guard m.densified() == w else { throw WeightEncodingError.changedSinceLoading(tensor: name) }
            return m
        }
        var summary = WeightConversionSummary()
        for i in 0..<model.layerCount {
            for p in model.projections {
                var l = model.linear(p, layer: i)
                if case .dense = l.storage,
                   let m = try encoded(model.moduleName(p, layer: i) + ".weight", l.weight, rows: l.outFeatures, columns: l.inFeatures) {
                    l.storage = .encoded(m)
                    l.weight = []
                    model.setLinear(l, p, layer: i)
                }
                summary.count(l.storage)
            }
        }
        let headName = model.parameters.first { $0.role == .head }?.name
            ?? model.parameters.first { $0.role == .tokenEmbedding }!.name
        let head = model.withHeadWeights { Array(UnsafeBufferPointer(start: $0, count: model.vocabSize * model.headInputSize)) }
        model.encodedHead = try encoded(headName, head, rows: model.vocabSize, columns: model.headInputSize)
        summary.matrices[model.encodedHead?.encoding.rawValue ?? "f32", default: 0] += 1
        return summary
    }
}
