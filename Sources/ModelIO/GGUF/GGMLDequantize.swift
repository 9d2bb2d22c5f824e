import Compute

/// Conversion of ggml tensor data (plain and block-quantized) to float32.
///
/// Every format stores a tensor as consecutive blocks along ne0; a block holds `blockSize`
/// elements in `bytesPerBlock` bytes, all little-endian. The arithmetic below is done in
/// float32 in the same order as ggml's reference `dequantize_row_*` (and gguf-py), so results
/// are bit-identical to theirs.
public enum GGMLDequantize {
    /// Decodes `count` elements (a multiple of the type's block size) of `type` from `src` into `dst`.
    /// Large tensors are split over worker threads by whole blocks.
    public static func decode(_ type: GGMLType, from src: UnsafeRawPointer, to dst: UnsafeMutablePointer<Float>, count: Int) {
        precondition(type.isDecodable, "GGMLDequantize.decode: \(type.name) is not decodable")
        let bs = type.blockSize, tb = type.bytesPerBlock
        let nBlocks = count / bs
        // ~64K elements per worker at least: below that, thread start-up dominates.
        parallelFor(nBlocks, minPerThread: max(1, 65_536 / bs)) { b0, b1 in
            decodeBlocks(type, src + b0 * tb, dst + b0 * bs, b1 - b0)
        }
    }

    @inline(__always)
    static func f16(_ p: UnsafeRawPointer, _ offset: Int) -> Float {
        floatFromFloat16Bits(UInt16(littleEndian: p.loadUnaligned(fromByteOffset: offset, as: UInt16.self)))
    }

    static func decodeBlocks(_ type: GGMLType, _ src: UnsafeRawPointer, _ dst: UnsafeMutablePointer<Float>, _ nBlocks: Int) {
        // F32, F16, BF16, Q8_0, Q4_0 and Q4_1 are the encodings the engine also runs in (their
        // layouts and kernels: Compute/Encoded/EncodedRows).
        if let e = BlockEncoding(ggml: type) {
            return EncodedRows.decode(e, row: src, columns: nBlocks * e.blockSize, into: dst)
        }
        switch type {
        case .q5_0: q5_0(src, dst, nBlocks)
        case .q5_1: q5_1(src, dst, nBlocks)
        case .q4_K: q4_K(src, dst, nBlocks)
        case .q5_K: q5_K(src, dst, nBlocks)
        case .q6_K: q6_K(src, dst, nBlocks)
        default: preconditionFailure("unreachable: \(type.name) is not decodable")
        }
    }

    /// block_q5_0 (22 bytes, 32 elements):
    ///   f16 d | u8 qh[4] (u32 LE: bit i = 5th bit of element i) | u8 qs[16] (low nibbles as in Q4_0)
    /// q = (low4 | high1 << 4) - 16; y = q * d.
    static func q5_0(_ src: UnsafeRawPointer, _ dst: UnsafeMutablePointer<Float>, _ nBlocks: Int) {
        for b in 0..<nBlocks {
            let blk = src + b * 22, y = dst + b * 32
            let d = f16(blk, 0)
            let qh = UInt32(littleEndian: blk.loadUnaligned(fromByteOffset: 2, as: UInt32.self))
            let qs = (blk + 6).assumingMemoryBound(to: UInt8.self)
            for j in 0..<16 {
                let q = UInt32(qs[j])
                let h0 = ((qh >> UInt32(j)) & 1) << 4
                let h1 = ((qh >> UInt32(j + 16)) & 1) << 4
                y[j] = Float(Int32((q & 0x0F) | h0) - 16) * d
                y[j + 16] = Float(Int32((q >> 4) | h1) - 16) * d
            }
        }
    }

    /// block_q5_1 (24 bytes, 32 elements):
    ///   f16 d | f16 m | u8 qh[4] | u8 qs[16]
    /// q = low4 | high1 << 4 (unsigned, 0...31); y = q * d + m.
    static func q5_1(_ src: UnsafeRawPointer, _ dst: UnsafeMutablePointer<Float>, _ nBlocks: Int) {
        for b in 0..<nBlocks {
            let blk = src + b * 24, y = dst + b * 32
            let d = f16(blk, 0), m = f16(blk, 2)
            let qh = UInt32(littleEndian: blk.loadUnaligned(fromByteOffset: 4, as: UInt32.self))
            let qs = (blk + 8).assumingMemoryBound(to: UInt8.self)
            for j in 0..<16 {
                let q = UInt32(qs[j])
                let h0 = ((qh >> UInt32(j)) & 1) << 4
                let h1 = ((qh >> UInt32(j + 16)) & 1) << 4
                y[j] = Float((q & 0x0F) | h0) * d + m
                y[j + 16] = Float((q >> 4) | h1) * d + m
            }
        }
    }

    /// The 6-bit scale and min of sub-block j (0..<8) of a Q4_K/Q5_K super-block, packed in 12 bytes:
    ///   bytes 0-3:  scales 0-3 in bits 0-5; bits 6-7 = bits 4-5 of scales 4-7
    ///   bytes 4-7:  mins 0-3 in bits 0-5;   bits 6-7 = bits 4-5 of mins 4-7
    ///   bytes 8-11: low nibble = bits 0-3 of scales 4-7, high nibble = bits 0-3 of mins 4-7
    @inline(__always)
    static func scaleMinK4(_ j: Int, _ q: UnsafePointer<UInt8>) -> (UInt8, UInt8) {
        if j < 4 { return (q[j] & 63, q[j + 4] & 63) }
        return ((q[j + 4] & 0x0F) | ((q[j - 4] >> 6) << 4), (q[j + 4] >> 4) | ((q[j] >> 6) << 4))
    }

    /// block_q4_K (144 bytes, 256 elements = 8 sub-blocks of 32):
    ///   f16 d | f16 dmin | u8 scales[12] (6-bit scale+min per sub-block, see scaleMinK4) | u8 qs[128]
    /// Chunk c (0..<4) of 64 elements uses qs[32c ..< 32c+32]: low nibbles are sub-block 2c,
    /// high nibbles sub-block 2c+1. y = (d * sc) * q - (dmin * m).
    static func q4_K(_ src: UnsafeRawPointer, _ dst: UnsafeMutablePointer<Float>, _ nBlocks: Int) {
        for b in 0..<nBlocks {
            let blk = src + b * 144, y = dst + b * 256
            let d = f16(blk, 0), dmin = f16(blk, 2)
            let scales = (blk + 4).assumingMemoryBound(to: UInt8.self)
            let qs = (blk + 16).assumingMemoryBound(to: UInt8.self)
            for c in 0..<4 {
                let (sc0, m0) = scaleMinK4(2 * c, scales), (sc1, m1) = scaleMinK4(2 * c + 1, scales)
                let d0 = d * Float(sc0), mm0 = dmin * Float(m0)
                let d1 = d * Float(sc1), mm1 = dmin * Float(m1)
                let q = qs + 32 * c, out = y + 64 * c
                for l in 0..<32 {
                    out[l] = d0 * Float(q[l] & 0x0F) - mm0
                    out[l + 32] = d1 * Float(q[l] >> 4) - mm1
                }
            }
        }
    }

    /// block_q5_K (176 bytes, 256 elements = 8 sub-blocks of 32):
    ///   f16 d | f16 dmin | u8 scales[12] (as Q4_K) | u8 qh[32] | u8 qs[128]
    /// Low 4 bits as in Q4_K; the 5th bit of element l of sub-block i is bit i of qh[l].
    /// y = (d * sc) * q - (dmin * m), q in 0...31.
    static func q5_K(_ src: UnsafeRawPointer, _ dst: UnsafeMutablePointer<Float>, _ nBlocks: Int) {
        for b in 0..<nBlocks {
            let blk = src + b * 176, y = dst + b * 256
            let d = f16(blk, 0), dmin = f16(blk, 2)
            let scales = (blk + 4).assumingMemoryBound(to: UInt8.self)
            let qh = (blk + 16).assumingMemoryBound(to: UInt8.self)
            let qs = (blk + 48).assumingMemoryBound(to: UInt8.self)
            for c in 0..<4 {
                let (sc0, m0) = scaleMinK4(2 * c, scales), (sc1, m1) = scaleMinK4(2 * c + 1, scales)
                let d0 = d * Float(sc0), mm0 = dmin * Float(m0)
                let d1 = d * Float(sc1), mm1 = dmin * Float(m1)
                let q = qs + 32 * c, out = y + 64 * c
                let s0 = UInt8(2 * c), s1 = UInt8(2 * c + 1)
                for l in 0..<32 {
                    let h = qh[l]
                    out[l] = d0 * Float((q[l] & 0x0F) | (((h >> s0) & 1) << 4)) - mm0
                    out[l + 32] = d1 * Float((q[l] >> 4) | (((h >> s1) & 1) << 4)) - mm1
                }
            }
        }
    }

    /// block_q6_K (210 bytes, 256 elements = 16 sub-blocks of 16):
    ///   u8 ql[128] (low 4 bits) | u8 qh[64] (high 2 bits) | i8 scales[16] | f16 d
    /// Two halves of 128 elements; half h uses ql[64h..], qh[32h..], scales[8h..]. For l in 0..<32:
    ///   element l    : ql[l] & 0xF    | (qh[l] >> 0 & 3) << 4, scale is+0
    ///   element l+32 : ql[l+32] & 0xF | (qh[l] >> 2 & 3) << 4, scale is+2
    ///   element l+64 : ql[l] >> 4     | (qh[l] >> 4 & 3) << 4, scale is+4
    ///   element l+96 : ql[l+32] >> 4  | (qh[l] >> 6 & 3) << 4, scale is+6
    /// with is = l / 16; q -= 32; y = (d * scale) * q.
    static func q6_K(_ src: UnsafeRawPointer, _ dst: UnsafeMutablePointer<Float>, _ nBlocks: Int) {
        for b in 0..<nBlocks {
            let blk = src + b * 210, y = dst + b * 256
            let d = f16(blk, 208)
            let qlAll = blk.assumingMemoryBound(to: UInt8.self)
            let qhAll = (blk + 128).assumingMemoryBound(to: UInt8.self)
            let scAll = (blk + 192).assumingMemoryBound(to: Int8.self)
            for h in 0..<2 {
                let ql = qlAll + 64 * h, qh = qhAll + 32 * h, sc = scAll + 8 * h, out = y + 128 * h
                for half in 0..<2 {
                    let ds0 = d * Float(sc[half + 0]), ds2 = d * Float(sc[half + 2])
                    let ds4 = d * Float(sc[half + 4]), ds6 = d * Float(sc[half + 6])
                    for l in (16 * half)..<(16 * half + 16) {
                        let a = ql[l], c = ql[l + 32], hb = qh[l]
                        let q1 = Int32((a & 0x0F) | ((hb & 3) << 4)) - 32
                        let q2 = Int32((c & 0x0F) | (((hb >> 2) & 3) << 4)) - 32
                        let q3 = Int32((a >> 4) | (((hb >> 4) & 3) << 4)) - 32
                        let q4 = Int32((c >> 4) | (((hb >> 6) & 3) << 4)) - 32
                        out[l] = ds0 * Float(q1)
                        out[l + 32] = ds2 * Float(q2)
                        out[l + 64] = ds4 * Float(q3)
                        out[l + 96] = ds6 * Float(q4)
                    }
                }
            }
        }
    }
}
