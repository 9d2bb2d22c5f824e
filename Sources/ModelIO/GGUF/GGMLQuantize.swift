import Compute
import Foundation

/// Float32 → ggml tensor bytes for the types Secateur writes, bit-exact with gguf-py's
/// quantizer (gguf/quants.py), which follows ggml-quants.c's reference functions:
///
///     F16   IEEE half, round to nearest even (numpy astype(float16))
///     BF16  top 16 bits, round to nearest even; NaN kept quiet (ggml_compute_fp32_to_bf16)
///     Q8_0  blocks of 32: f16 d, then 32 × i8 q
///           amax = max|x|, d = amax / 127, id = d ≠ 0 ? 1/d : 0, q = roundf(x · id)
///           (roundf: halves away from zero, gguf-py's np_roundf); d is stored as f16
///     Q4_0  blocks of 32: f16 d, then 16 bytes of nibbles (low nibble = element j,
///           high nibble = element j + 16)
///           m = the element of largest |x| (first on ties, keeping its sign), d = m / -8,
///           id = d ≠ 0 ? 1/d : 0, q = min(15, trunc(x · id + 8.5))
///
/// All arithmetic is float32, in the order gguf-py does it. Rows are quantized separately,
/// so a row's length must be a multiple of the block size.
public enum GGMLQuantize {
    /// Types `encode` accepts.
    public static let writableTypes: [GGMLType] = [.f32, .f16, .bf16, .q8_0, .q4_0]

    /// Bytes of `values` (row-major, `rowLength` per row) stored as `type`.
    public static func encode(_ values: [Float], rowLength: Int, as type: GGMLType) throws -> Data {
        guard writableTypes.contains(type) else { throw GGMLQuantizeError.unsupportedType(type) }
        guard rowLength > 0, values.count % rowLength == 0 else {
            throw GGMLQuantizeError.badShape("\(values.count) values are not whole rows of \(rowLength)")
        }
        guard rowLength % type.blockSize == 0 else {
            throw GGMLQuantizeError.rowNotBlockAligned(rowLength: rowLength, type: type)
        }
        let blocks = values.count / type.blockSize
        var out = Data(count: blocks * type.bytesPerBlock)
        out.withUnsafeMutableBytes { raw in
            let dst = raw.baseAddress!
            values.withUnsafeBufferPointer { src in
                let x = src.baseAddress!
                switch type {
                case .f32:
                    dst.copyMemory(from: x, byteCount: values.count * 4)
                case .f16:
                    let d = dst.assumingMemoryBound(to: UInt16.self)
                    for i in 0..<values.count { d[i] = float16Bits(x[i]).littleEndian }
                case .bf16:
                    let d = dst.assumingMemoryBound(to: UInt16.self)
                    for i in 0..<values.count { d[i] = bfloat16Bits(x[i]).littleEndian }
                case .q8_0:
                    for b in 0..<blocks { q8_0Block(x + b * 32, dst + b * 34) }
                default: // .q4_0 (checked above)
                    for b in 0..<blocks { q4_0Block(x + b * 32, dst + b * 18) }
                }
            }
        }
        return out
    }

    /// gguf-py's np_roundf: |n| rounded half up, sign restored (C roundf).
    @inline(__always)
    static func roundHalfAway(_ n: Float) -> Float {
        let a = abs(n)
        let floored = a.rounded(.down)
        let b = floored + (2 * (a - floored)).rounded(.down)
        return n < 0 ? -b : (n > 0 ? b : 0)
    }

    static func storeHalf(_ d: Float, _ dst: UnsafeMutableRawPointer) {
        let bits = float16Bits(d).littleEndian
        withUnsafeBytes(of: bits) { dst.copyMemory(from: $0.baseAddress!, byteCount: 2) }
    }

    static func q8_0Block(_ x: UnsafePointer<Float>, _ dst: UnsafeMutableRawPointer) {
        var amax: Float = 0
        for j in 0..<32 { amax = max(amax, abs(x[j])) }
        let d = amax / 127
        let id: Float = d == 0 ? 0 : 1 / d
        storeHalf(d, dst)
        let q = (dst + 2).assumingMemoryBound(to: Int8.self)
        for j in 0..<32 { q[j] = Int8(roundHalfAway(x[j] * id)) }
    }

    static func q4_0Block(_ x: UnsafePointer<Float>, _ dst: UnsafeMutableRawPointer) {
        var amax: Float = 0, m: Float = 0
        for j in 0..<32 where abs(x[j]) > amax { amax = abs(x[j]); m = x[j] }
        let d = m / -8
        let id: Float = d == 0 ? 0 : 1 / d
        storeHalf(d, dst)
        let q = (dst + 2).assumingMemoryBound(to: UInt8.self)
        func nibble(_ v: Float) -> UInt8 {
            let t = (v * id + 8.5).rounded(.towardZero)
            return UInt8(min(15, max(0, t)))
        }
        for j in 0..<16 { q[j] = nibble(x[j]) | (nibble(x[j + 16]) << 4) }
    }
}

/// Why a tensor could not be stored as a ggml type.
public enum GGMLQuantizeError: Error, CustomStringConvertible, Equatable {
    case unsupportedType(GGMLType)
    case badShape(String)
    case rowNotBlockAligned(rowLength: Int, type: GGMLType)

    public var description: String {
        switch self {
        case .unsupportedType(let t):
            return "cannot write tensors as \(t); writable types: \(GGMLQuantize.writableTypes.map(\.description).joined(separator: ", "))"
        case .badShape(let why): return "tensor shape: \(why)"
        case .rowNotBlockAligned(let n, let t):
            return "rows of \(n) values cannot be stored as \(t), whose blocks hold \(t.blockSize) values"
        }
    }
}
