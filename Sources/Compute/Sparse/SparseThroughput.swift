import Foundation

/// Times y = x·Wᵀ for one weight shape in each storage (dense BLAS, CSR, packed N:M with byte
/// offsets, the 2:4 decode format with 2-bit offsets, and the bitmap) the way
/// a forward pass meets them: the product runs over `copies` different matrices in turn, so
/// together they exceed the last-level cache and the weights stream from memory as in a real
/// decode step. Used to calibrate `SparseDecodeCost` and by `secateur bench sparse`.
public enum SparseThroughput {
    public struct Result: Codable, Sendable {
        public var rows: Int, columns: Int, tokens: Int, density: Double
        /// Best time of one product, microseconds.
        public var denseMicroseconds: Double
        public var csrMicroseconds: Double
        /// Packed 2:4 at density 0.5 (the pattern's own density, whatever `density` is).
        public var nmMicroseconds: Double
        /// The same 2:4 matrix in the decode format (`Packed24Matrix`, float32 values); nil
        /// where the width is not whole chunks of 32.
        public var packed24Microseconds: Double?
        /// The unstructured matrix (density `density`) as a bitmap with float32 values; nil where
        /// the width is not a multiple of 32.
        public var bitmapMicroseconds: Double?
    }

    public static func measure(rows: Int = 1536, columns: Int = 576, density: Double = 0.3, tokens: Int = 1,
                               streamBytes: Int = 256 << 20, repeats: Int = 5) throws -> Result {
        let copies = max(1, streamBytes / (rows * columns * 4))
        var rng = SeededRNG(seed: 7)
        var dense: [[Float]] = [], csr: [CSRMatrix] = [], nm: [PackedNMMatrix] = [], packed: [Packed24Matrix] = []
        var bitmap: [BitmapMatrix] = []
        for _ in 0..<copies {
            var w = [Float](repeating: 0, count: rows * columns)
            for i in w.indices { w[i] = rng.nextFloat() - 0.5 }
            var unstructured = w
            for i in unstructured.indices where Double(rng.nextFloat()) >= density { unstructured[i] = 0 }
            var pattern = w
            for g in stride(from: 0, to: pattern.count, by: 4) { pattern[g + 1] = 0; pattern[g + 3] = 0 }
            csr.append(try CSRMatrix(dense: unstructured, rows: rows, columns: columns))
            if BitmapMatrix.fits(columns: columns) {
                bitmap.append(try unstructured.withUnsafeBufferPointer { try BitmapMatrix(dense: $0.baseAddress!, rows: rows, columns: columns) })
            }
            nm.append(try PackedNMMatrix(dense: pattern, rows: rows, columns: columns, keep: 2, group: 4))
            if Packed24Matrix.fits(columns: columns, keep: 2, encoding: .f32) {
                packed.append(try pattern.withUnsafeBufferPointer {
                    try Packed24Matrix(dense: $0.baseAddress!, rows: rows, columns: columns, keep: 2, encoding: .f32) { v, _ in
                        v.withUnsafeBytes { [UInt8]($0) }
                    }
                })
            }
            dense.append(w)
        }
        let x = (0..<(tokens * columns)).map { _ in rng.nextFloat() - 0.5 }
        var y = [Float](repeating: 0, count: tokens * rows)
        func best(_ body: (Int, UnsafePointer<Float>, UnsafeMutablePointer<Float>) -> Void) -> Double {
            var b = Double.infinity
            x.withUnsafeBufferPointer { xb in
                y.withUnsafeMutableBufferPointer { yb in
                    for i in 0...repeats {
                        let t0 = DispatchTime.now().uptimeNanoseconds
                        for c in 0..<copies { body(c, xb.baseAddress!, yb.baseAddress!) }
                        let dt = Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e3 / Double(copies)
                        if i > 0 { b = min(b, dt) }
                    }
                }
            }
            return b
        }
        let d = best { c, x, y in
            dense[c].withUnsafeBufferPointer { BLAS.linear(x, rows: tokens, inFeatures: columns, weight: $0.baseAddress!, outFeatures: rows, into: y) }
        }
        let s = best { c, x, y in csr[c].multiply(x, rows: tokens, into: y) }
        let p = best { c, x, y in nm[c].multiply(x, rows: tokens, into: y) }
        let p24: Double? = packed.isEmpty ? nil : best { c, x, y in packed[c].multiply(x, rows: tokens, into: y) }
        let b: Double? = bitmap.isEmpty ? nil : best { c, x, y in bitmap[c].multiply(x, rows: tokens, into: y) }
        return Result(rows: rows, columns: columns, tokens: tokens, density: density,
                      denseMicroseconds: d, csrMicroseconds: s, nmMicroseconds: p, packed24Microseconds: p24, bitmapMicroseconds: b)
    }
}
