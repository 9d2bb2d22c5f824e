import DecodeKernels

/// An unstructured sparse matrix W [rows × columns] held as one bit per weight (kept or not)
/// and the kept values packed in column order, row after row, in float32, float16 or bfloat16.
/// It streams 1/8 byte per weight plus the kept values' bytes: at density 0.3, 1.33 bytes per
/// weight in f32 (CSR: 1.8, dense: 4) and 0.73 in f16, and its decode kernel reads x with
/// plain vector loads instead of CSR's per-value gathers (`DecodeKernels/bitmap_dot.c`), so
/// an unstructured model pays its sparsity in decode where CSR stays compute-bound.
///
/// Layout: `masks` [rows × columns / 8], bit j of byte b of a row set when column 8b + j is
/// kept (stored, even if its value is zero after encoding); `values` row r's kept values from
/// value index `rowStart[r]` on; the value storage ends with `paddingValues` zero values, which
/// the kernel's vector loads may read past a row's last value. Columns are a multiple of 32
/// (the kernel reads the masks 32 bits at a time).
public struct BitmapMatrix: Sendable, RowDecoding {
    public let rows: Int
    public let columns: Int
    public let valueEncoding: BlockEncoding
    /// [rows × columns / 8] kept-column bits.
    public let masks: [UInt8]
    /// rowStart[r]..<rowStart[r + 1] index row r's values.
    public let rowStart: [Int32]
    /// Kept values in `valueEncoding`, then `paddingValues` zeros.
    public let values: [UInt8]

    public static let paddingValues = 8
    /// The value encodings the kernel reads.
    public static let valueEncodings: Set<BlockEncoding> = [.f32, .f16, .bf16]

    public static func fits(columns: Int) -> Bool { columns > 0 && columns % 32 == 0 }

    /// Bytes held for `nonzeros` kept values in `encoding` (masks, values, row starts, padding).
    public static func bytes(rows: Int, columns: Int, nonzeros: Int, encoding: BlockEncoding = .f32) -> Int {
        rows * columns / 8 + (nonzeros + paddingValues) * encoding.bytesPerBlock + (rows + 1) * MemoryLayout<Int32>.size
    }

    /// Keeps the non-zero entries of a row-major dense matrix (exact zeros are dropped).
    public init(dense: UnsafePointer<Float>, rows: Int, columns: Int, encoding: BlockEncoding = .f32) throws {
        guard Self.valueEncodings.contains(encoding) else { throw SparseFormatError.valueEncoding(encoding.rawValue, format: "bitmap", allowed: ["f32", "f16", "bf16"]) }
        guard Self.fits(columns: columns) else { throw SparseFormatError.columnsNotMultipleOfGroup(columns: columns, group: 32) }
        guard rows >= 0, rows * columns <= Int(Int32.max) else { throw SparseFormatError.tooManyWeights(rows * columns) }
        var masks = [UInt8](repeating: 0, count: rows * columns / 8)
        var start = [Int32](repeating: 0, count: rows + 1)
        var kept: [Float] = []
        for r in 0..<rows {
            let row = dense + r * columns
            for c in 0..<columns where row[c] != 0 {
                masks[r * columns / 8 + c / 8] |= 1 << UInt8(c % 8)
                kept.append(row[c])
            }
            start[r + 1] = Int32(kept.count)
        }
        kept.append(contentsOf: repeatElement(0, count: Self.paddingValues))
        self.rows = rows; self.columns = columns; valueEncoding = encoding
        self.masks = masks; rowStart = start
        values = Self.encode(kept, as: encoding)
    }

    private init(rows: Int, columns: Int, valueEncoding: BlockEncoding, masks: [UInt8], rowStart: [Int32], values: [UInt8]) {
        self.rows = rows; self.columns = columns; self.valueEncoding = valueEncoding
        self.masks = masks; self.rowStart = rowStart; self.values = values
    }

    private static func encode(_ v: [Float], as e: BlockEncoding) -> [UInt8] {
        switch e {
        case .f16: return v.map(float16Bits).withUnsafeBytes { [UInt8]($0) }
        case .bf16: return v.map(bfloat16Bits).withUnsafeBytes { [UInt8]($0) }
        default: return v.withUnsafeBytes { [UInt8]($0) }
        }
    }

    /// Kept values as float32, padding included.
    private func decodedValues() -> [Float] {
        values.withUnsafeBytes { raw in
            switch valueEncoding {
            case .f16: return raw.bindMemory(to: UInt16.self).map(floatFromFloat16Bits)
            case .bf16: return raw.bindMemory(to: UInt16.self).map(floatFromBFloat16Bits)
            default: return Array(raw.bindMemory(to: Float.self))
            }
        }
    }

    /// The same pattern with the kept values in another encoding (f32, f16 or bf16).
    public func withValueEncoding(_ e: BlockEncoding) throws -> BitmapMatrix {
        guard Self.valueEncodings.contains(e) else { throw SparseFormatError.valueEncoding(e.rawValue, format: "bitmap", allowed: ["f32", "f16", "bf16"]) }
        if e == valueEncoding { return self }
        return BitmapMatrix(rows: rows, columns: columns, valueEncoding: e, masks: masks, rowStart: rowStart,
                            values: Self.encode(decodedValues(), as: e))
    }

    /// Kept positions (values that encode to zero included).
    public var storedCount: Int { Int(rowStart[rows]) }

    /// Non-zeros stored.
    public var nonzeroCount: Int { decodedValues().prefix(storedCount).reduce(0) { $1 != 0 ? $0 + 1 : $0 } }

    public var bytes: Int { masks.count + values.count + rowStart.count * MemoryLayout<Int32>.size }

    /// Rows r0..<r1 as dense float32 into dst [(r1 − r0) × columns] (zeros written too).
    public func decodeRows(_ r0: Int, _ r1: Int, into dst: UnsafeMutablePointer<Float>) {
        let count = (r1 - r0) * columns
        dst.initialize(repeating: 0, count: count)
        guard count > 0 else { return }
        let first = Int(rowStart[r0]), n = Int(rowStart[r1]) - first
        withUnsafeTemporaryAllocation(of: Float.self, capacity: max(1, n)) { v in
            values.withUnsafeBytes { raw in
                // One switch per call, not per value.
                switch valueEncoding {
                case .f16:
                    for i in 0..<n { v[i] = floatFromFloat16Bits(raw.loadUnaligned(fromByteOffset: 2 * (first + i), as: UInt16.self)) }
                case .bf16:
                    for i in 0..<n { v[i] = floatFromBFloat16Bits(raw.loadUnaligned(fromByteOffset: 2 * (first + i), as: UInt16.self)) }
                default:
                    for i in 0..<n { v[i] = raw.loadUnaligned(fromByteOffset: 4 * (first + i), as: Float.self) }
                }
            }
            var i = 0
            masks.withUnsafeBufferPointer { m in
                for r in r0..<r1 {
                    let row = dst + (r - r0) * columns, bits = m.baseAddress! + r * columns / 8
                    for b in 0..<(columns / 8) {
                        var byte = bits[b]
                        while byte != 0 {
                            let j = byte.trailingZeroBitCount
                            row[8 * b + j] = v[i]; i += 1
                            byte &= byte - 1
                        }
                    }
                }
            }
        }
    }

    /// y[n × rows] = x[n × columns] · Wᵀ (+ y when accumulate). One input row runs the kernel
    /// above, rows split across the workers; several decode slices of W to float32 for BLAS.
    public func multiply(_ x: UnsafePointer<Float>, rows n: Int, into y: UnsafeMutablePointer<Float>, accumulate: Bool = false) {
        if n == 0 || rows == 0 { return }
        guard n == 1 else { return decodedSliceProduct(x, tokens: n, into: y, accumulate: accumulate) }
        guard let type = valueEncoding.sparseValueType else { preconditionFailure("bitmap values are f32, f16 or bf16") }
        masks.withUnsafeBufferPointer { m in
            values.withUnsafeBufferPointer { v in
                rowStart.withUnsafeBufferPointer { s in
                    let workers = rows * columns < EncodedRows.parallelWeights ? 1 : Parallelism.threads
                    parallelFor(rows, minPerThread: max(1, rows / workers)) { r0, r1 in
                        dk_bitmap_rows(type, m.baseAddress!, columns, v.baseAddress!, s.baseAddress!, x, r0, r1, y,
                                       accumulate ? 1 : 0)
                    }
                }
            }
        }
    }
}
