/// A weight matrix W [rows × columns] held in a `BlockEncoding` (16-bit floats, ggml blocks),
/// row-major, each row a run of whole blocks: the storage that lets a model decode from 2 or
/// 8 or 4.5 bits per weight instead of 32 (the bytes per token are what bounds decode).
///
/// Products: one input row (decode) runs the encoding's own dot-product kernel, output rows
/// split across workers; several rows (prefill, perplexity) decode slices of W to float32 and
/// hand them to BLAS, so prefill keeps sgemm's speed and only the weights in use are widened.
public struct EncodedMatrix: Sendable, RowDecoding {
    public let encoding: BlockEncoding
    public let rows: Int
    public let columns: Int
    /// Bytes of one row.
    public let rowBytes: Int
    /// rows × rowBytes bytes, ggml's layout (`EncodedRows`).
    public let storage: [UInt8]

    /// Wraps encoded bytes; the sizes are checked before anything indexes them.
    public init(encoding: BlockEncoding, rows: Int, columns: Int, bytes: [UInt8]) throws {
        guard rows >= 0, columns >= 0 else { throw EncodedMatrixError.badShape(rows: rows, columns: columns) }
        guard columns % encoding.blockSize == 0 else {
            throw EncodedMatrixError.columnsNotBlockAligned(columns: columns, encoding: encoding)
        }
        let rowBytes = encoding.rowBytes(columns: columns)
        let (expected, overflow) = rows.multipliedReportingOverflow(by: rowBytes)
        guard !overflow, bytes.count == expected else {
            throw EncodedMatrixError.byteCount(expected: overflow ? Int.max : expected, got: bytes.count, encoding: encoding)
        }
        self.encoding = encoding; self.rows = rows; self.columns = columns
        self.rowBytes = rowBytes; storage = bytes
    }

    /// Bytes held.
    public var bytes: Int { storage.count }

    /// Rows r0..<r1 as float32 into dst [(r1 − r0) × columns].
    public func decodeRows(_ r0: Int, _ r1: Int, into dst: UnsafeMutablePointer<Float>) {
        precondition(r0 >= 0 && r0 <= r1 && r1 <= rows)
        storage.withUnsafeBytes { raw in
            for r in r0..<r1 {
                EncodedRows.decode(encoding, row: raw.baseAddress! + r * rowBytes, columns: columns,
                                   into: dst + (r - r0) * columns)
            }
        }
    }

    /// The whole matrix as float32, row-major (`RowDecoding`'s, with no row of zero width decoded).
    public func densified() -> [Float] {
        var out = [Float](repeating: 0, count: rows * columns)
        if rows > 0 && columns > 0 {
            out.withUnsafeMutableBufferPointer { decodeRows(0, rows, into: $0.baseAddress!) }
        }
        return out
    }

    /// y[n × rows] = x[n × columns] · Wᵀ (+ y when accumulate).
    public func multiply(_ x: UnsafePointer<Float>, rows n: Int, into y: UnsafeMutablePointer<Float>, accumulate: Bool = false) {
        if n == 0 || rows == 0 { return }
        if columns == 0 {
            if !accumulate { y.initialize(repeating: 0, count: n * rows) }
            return
        }
        if n == 1 {
            storage.withUnsafeBytes { raw in
                EncodedRows.matrixVector(encoding, raw.baseAddress!, rowBytes: rowBytes, rows: rows, columns: columns,
                                         x: x, y: y, accumulate: accumulate)
            }
            return
        }
        decodedSliceProduct(x, tokens: n, into: y, accumulate: accumulate)
    }
}

/// Why bytes cannot be held as an encoded matrix.
public enum EncodedMatrixError: Error, CustomStringConvertible, Equatable {
    case badShape(rows: Int, columns: Int)
    case columnsNotBlockAligned(columns: Int, encoding: BlockEncoding)
    case byteCount(expected: Int, got: Int, encoding: BlockEncoding)

    public var description: String {
        switch self {
        case .badShape(let r, let c):
            return "a matrix of \(r) × \(c) has a negative size"
        case .columnsNotBlockAligned(let c, let e):
            return "rows of \(c) values cannot be held as \(e.rawValue), whose blocks hold \(e.blockSize) values; keep this matrix in f32, f16 or bf16"
        case .byteCount(let want, let got, let e):
            return "\(got) bytes cannot be a matrix in \(e.rawValue) of the stated shape (it needs \(want))"
        }
    }
}
