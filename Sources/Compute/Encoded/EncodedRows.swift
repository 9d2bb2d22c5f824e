/// Row kernels of the block encodings: a row's dot product with a float vector (batch-1
/// decode) and its conversion to float32 (prefill tiles, densifying, reading GGUF tensors).
///
/// Layouts (ggml's, little-endian; ggml-common.h):
///
///     F32   IEEE binary32
///     F16   IEEE binary16
///     BF16  the top 16 bits of a binary32
///     Q8_0  34 bytes per 32 values: f16 d | i8 q[32]              w = q · d
///     Q4_0  18 bytes per 32 values: f16 d | u8 qs[16]             w = (nibble − 8) · d
///     Q4_1  20 bytes per 32 values: f16 d | f16 m | u8 qs[16]     w = nibble · d + m
///
/// In the Q4 types value j < 16 of a block is the low nibble of qs[j] and value j + 16 its
/// high nibble. Conversion to float32 does the arithmetic in ggml's order (`dequantize_row_*`),
/// unfused, so it is bit-identical to ggml and gguf-py.
///
/// Dot products: batch-1 decode streams every weight byte once per token and is bound by
/// memory bandwidth, so the stored values are widened to float32 in registers and multiplied
/// into x with FMA; no float copy of a row is ever written. A block's scale is applied once:
/// its partial products are summed in one SIMD8 t, then acc += t · d. The Q4 offsets (−8·d
/// for Q4_0, m for Q4_1) multiply the block's sum of x, computed once per token (`blockSums`).
public enum EncodedRows {
    // MARK: Widening to float32
    //
    // Only same-width lane operations (shifts, masks, integer adds, bit casts): Swift's generic
    // SIMD conversions (Int32 → Float, UInt16 → UInt32, Float16 → Float) compile to a call per
    // vector, which made these kernels several times slower. Loading 16-bit values as 32-bit
    // lanes splits them into even and odd elements, and Q8_0/Q4 bytes come out strided; the
    // products use x permuted to the same order once per call (`permute`).

    @inline(__always)
    static func load8(_ p: UnsafePointer<Float>) -> SIMD8<Float> {
        UnsafeRawPointer(p).loadUnaligned(as: SIMD8<Float>.self)
    }

    @inline(__always)
    static func store8(_ v: SIMD8<Float>, _ p: UnsafeMutablePointer<Float>) {
        UnsafeMutableRawPointer(p).storeBytes(of: v, as: SIMD8<Float>.self)
    }

    /// One binary16 at p.
    @inline(__always)
    static func half(_ p: UnsafeRawPointer) -> Float {
        floatFromFloat16Bits(UInt16(littleEndian: p.loadUnaligned(as: UInt16.self)))
    }

    /// Integers |v| < 2²² as floats: added to the bits of 1.5·2²³, whose ulp is 1.
    @inline(__always)
    static func floats(_ v: SIMD8<Int32>) -> SIMD8<Float> {
        unsafeBitCast(v &+ 0x4B40_0000, to: SIMD8<Float>.self) - 12_582_912
    }

    /// binary16 bits in the low half of each lane as floats: exponent and mantissa moved into
    /// place and rescaled by 2¹¹² (which also turns half subnormals into the right normals),
    /// then the sign; infinities and NaNs (exponent 31) are rebuilt with exponent 255.
    @inline(__always)
    static func halfFloats(_ h: SIMD8<UInt32>) -> SIMD8<Float> {
        let shifted = (h & 0x7FFF) &<< 13
        var bits = unsafeBitCast(unsafeBitCast(shifted, to: SIMD8<Float>.self) * 0x1p112, to: SIMD8<UInt32>.self)
        bits = bits.replacing(with: shifted | 0x7F80_0000, where: (h & 0x7C00) .== 0x7C00)
        return unsafeBitCast(bits | ((h & 0x8000) &<< 16), to: SIMD8<Float>.self)
    }

    /// 16 binary16 at p: (even elements, odd elements).
    @inline(__always)
    static func halves16(_ p: UnsafeRawPointer) -> (SIMD8<Float>, SIMD8<Float>) {
        let v = p.loadUnaligned(as: SIMD8<UInt32>.self)
        return (halfFloats(v & 0xFFFF), halfFloats(v &>> 16))
    }

    /// 16 bfloat16 at p: (even elements, odd elements), each moved into the top half of a binary32.
    @inline(__always)
    static func bfloats16(_ p: UnsafeRawPointer) -> (SIMD8<Float>, SIMD8<Float>) {
        let v = p.loadUnaligned(as: SIMD8<UInt32>.self)
        return (unsafeBitCast(v &<< 16, to: SIMD8<Float>.self), unsafeBitCast(v & 0xFFFF_0000, to: SIMD8<Float>.self))
    }

    /// 32 signed bytes at p as four vectors; vector k holds bytes k, 4 + k, …, 28 + k.
    @inline(__always)
    static func int8s32(_ p: UnsafeRawPointer) -> (SIMD8<Float>, SIMD8<Float>, SIMD8<Float>, SIMD8<Float>) {
        let v = p.loadUnaligned(as: SIMD8<Int32>.self)
        return (floats((v &<< 24) &>> 24), floats((v &<< 16) &>> 24), floats((v &<< 8) &>> 24), floats(v &>> 24))
    }

    static let nibbleShifts = (SIMD8<UInt32>(0, 0, 0, 0, 4, 4, 4, 4), SIMD8<UInt32>(8, 8, 8, 8, 12, 12, 12, 12),
                               SIMD8<UInt32>(16, 16, 16, 16, 20, 20, 20, 20), SIMD8<UInt32>(24, 24, 24, 24, 28, 28, 28, 28))

    /// The 32 nibbles of a Q4 block's 16 bytes as four vectors; vector s holds, in lanes
    /// 0–3, the low nibbles of bytes s, 4 + s, 8 + s, 12 + s (values s, 4 + s, …) and in
    /// lanes 4–7 their high nibbles (values 16 + s, 20 + s, …).
    @inline(__always)
    static func nibbles(_ qs: UnsafeRawPointer) -> (SIMD8<Float>, SIMD8<Float>, SIMD8<Float>, SIMD8<Float>) {
        let a = qs.loadUnaligned(as: SIMD4<UInt32>.self)
        let v = unsafeBitCast(SIMD8<UInt32>(lowHalf: a, highHalf: a), to: SIMD8<Int32>.self)
        let s = nibbleShifts
        @inline(__always) func take(_ sh: SIMD8<UInt32>) -> SIMD8<Float> {
            floats((v &>> unsafeBitCast(sh, to: SIMD8<Int32>.self)) & 0xF)
        }
        return (take(s.0), take(s.1), take(s.2), take(s.3))
    }

    /// x in the element order the kernels of `e` read their weights in (see above); f32 none.
    static func permute(_ e: BlockEncoding, _ x: UnsafePointer<Float>, columns n: Int, into xp: UnsafeMutablePointer<Float>) {
        switch e {
        case .f32: return
        case .f16, .bf16:
            for c in 0..<(n / 16) {
                for j in 0..<8 { xp[16 * c + j] = x[16 * c + 2 * j]; xp[16 * c + 8 + j] = x[16 * c + 2 * j + 1] }
            }
        case .q8_0:
            for b in 0..<(n / 32) {
                for k in 0..<4 { for j in 0..<8 { xp[32 * b + 8 * k + j] = x[32 * b + 4 * j + k] } }
            }
        case .q4_0, .q4_1:
            for b in 0..<(n / 32) {
                for s in 0..<4 {
                    for l in 0..<4 {
                        xp[32 * b + 8 * s + l] = x[32 * b + 4 * l + s]
                        xp[32 * b + 8 * s + 4 + l] = x[32 * b + 16 + 4 * l + s]
                    }
                }
            }
        }
    }

    // MARK: Dot products (one row · x; xp: x permuted for the encoding)

    /// Sums of x over each block of 32 (what the Q4 offsets multiply), into sums[columns / 32].
    @inline(__always)
    public static func blockSums(_ x: UnsafePointer<Float>, columns: Int, into sums: UnsafeMutablePointer<Float>) {
        for b in 0..<(columns / 32) {
            let p = x + 32 * b
            sums[b] = ((load8(p) + load8(p + 8)) + (load8(p + 16) + load8(p + 24))).sum()
        }
    }

    @inline(__always)
    static func dotF32(_ w: UnsafeRawPointer, _ x: UnsafePointer<Float>, _ n: Int) -> Float {
        var a0 = SIMD8<Float>(), a1 = SIMD8<Float>(), a2 = SIMD8<Float>(), a3 = SIMD8<Float>()
        var i = 0
        while i + 32 <= n {
            a0.addProduct(w.loadUnaligned(fromByteOffset: 4 * i, as: SIMD8<Float>.self), load8(x + i))
            a1.addProduct(w.loadUnaligned(fromByteOffset: 4 * i + 32, as: SIMD8<Float>.self), load8(x + i + 8))
            a2.addProduct(w.loadUnaligned(fromByteOffset: 4 * i + 64, as: SIMD8<Float>.self), load8(x + i + 16))
            a3.addProduct(w.loadUnaligned(fromByteOffset: 4 * i + 96, as: SIMD8<Float>.self), load8(x + i + 24))
            i += 32
        }
        while i + 8 <= n { a0.addProduct(w.loadUnaligned(fromByteOffset: 4 * i, as: SIMD8<Float>.self), load8(x + i)); i += 8 }
        var s = ((a0 + a1) + (a2 + a3)).sum()
        while i < n { s += w.loadUnaligned(fromByteOffset: 4 * i, as: Float.self) * x[i]; i += 1 }
        return s
    }

    /// F16 (bfloat: false) or BF16 (true) row.
    @inline(__always)
    static func dot16(_ w: UnsafeRawPointer, _ x: UnsafePointer<Float>, _ xp: UnsafePointer<Float>, _ n: Int, bfloat: Bool) -> Float {
        @inline(__always) func pair(_ p: UnsafeRawPointer) -> (SIMD8<Float>, SIMD8<Float>) { bfloat ? bfloats16(p) : halves16(p) }
        var a0 = SIMD8<Float>(), a1 = SIMD8<Float>(), a2 = SIMD8<Float>(), a3 = SIMD8<Float>()
        var i = 0
        while i + 32 <= n {
            let (e0, o0) = pair(w + 2 * i), (e1, o1) = pair(w + 2 * i + 32)
            a0.addProduct(e0, load8(xp + i)); a1.addProduct(o0, load8(xp + i + 8))
            a2.addProduct(e1, load8(xp + i + 16)); a3.addProduct(o1, load8(xp + i + 24))
            i += 32
        }
        while i + 16 <= n {
            let (e0, o0) = pair(w + 2 * i)
            a0.addProduct(e0, load8(xp + i)); a1.addProduct(o0, load8(xp + i + 8))
            i += 16
        }
        var s = ((a0 + a1) + (a2 + a3)).sum()
        while i < n {
            let bits = UInt16(littleEndian: w.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))
            s += (bfloat ? floatFromBFloat16Bits(bits) : floatFromFloat16Bits(bits)) * x[i]
            i += 1
        }
        return s
    }

    @inline(__always)
    static func dotQ8_0(_ w: UnsafeRawPointer, _ xp: UnsafePointer<Float>, _ n: Int) -> Float {
        var a0 = SIMD8<Float>(), a1 = SIMD8<Float>()
        for b in 0..<(n / 32) {
            let blk = w + 34 * b, xb = xp + 32 * b
            let (q0, q1, q2, q3) = int8s32(blk + 2)
            var t0 = q0 * load8(xb), t1 = q1 * load8(xb + 8)
            t0.addProduct(q2, load8(xb + 16)); t1.addProduct(q3, load8(xb + 24))
            let d = SIMD8<Float>(repeating: half(blk))
            if b & 1 == 0 { a0.addProduct(t0 + t1, d) } else { a1.addProduct(t0 + t1, d) }
        }
        return (a0 + a1).sum()
    }

    /// Q4_0 (size 18, scales at 0, offset −8·d) or Q4_1 (size 20, d at 0, m at 2).
    @inline(__always)
    static func dotQ4(_ w: UnsafeRawPointer, _ xp: UnsafePointer<Float>, _ sums: UnsafePointer<Float>, _ n: Int, withMin: Bool) -> Float {
        let size = withMin ? 20 : 18, qsOffset = size - 16
        var a0 = SIMD8<Float>(), a1 = SIMD8<Float>(), offset: Float = 0
        for b in 0..<(n / 32) {
            let blk = w + size * b, xb = xp + 32 * b
            let (q0, q1, q2, q3) = nibbles(blk + qsOffset)
            var t0 = q0 * load8(xb), t1 = q1 * load8(xb + 8)
            t0.addProduct(q2, load8(xb + 16)); t1.addProduct(q3, load8(xb + 24))
            let d = half(blk)
            if b & 1 == 0 { a0.addProduct(t0 + t1, SIMD8<Float>(repeating: d)) } else { a1.addProduct(t0 + t1, SIMD8<Float>(repeating: d)) }
            offset += (withMin ? half(blk + 2) : -8 * d) * sums[b]
        }
        return (a0 + a1).sum() + offset
    }

    /// y[r] (+)= row r · x for rows r0..<r1 of a matrix whose rows are `rowBytes` apart.
    /// `xp`: x permuted for `e`; `sums`: x's block sums (Q4 types only).
    static func dots(_ e: BlockEncoding, rows base: UnsafeRawPointer, rowBytes: Int, columns n: Int, _ r0: Int, _ r1: Int,
                     x: UnsafePointer<Float>, xp: UnsafePointer<Float>, sums: UnsafePointer<Float>,
                     y: UnsafeMutablePointer<Float>, accumulate: Bool) {
        @inline(__always) func each(_ dot: (UnsafeRawPointer) -> Float) {
            if accumulate {
                for r in r0..<r1 { y[r] += dot(base + r * rowBytes) }
            } else {
                for r in r0..<r1 { y[r] = dot(base + r * rowBytes) }
            }
        }
        switch e {
        case .f32: each { dotF32($0, x, n) }
        case .f16: each { dot16($0, x, xp, n, bfloat: false) }
        case .bf16: each { dot16($0, x, xp, n, bfloat: true) }
        case .q8_0: each { dotQ8_0($0, xp, n) }
        case .q4_0: each { dotQ4($0, xp, sums, n, withMin: false) }
        case .q4_1: each { dotQ4($0, xp, sums, n, withMin: true) }
        }
    }

    /// Below this many weights a matrix-vector product runs on one thread (waking a worker
    /// costs more than it saves).
    static let parallelWeights = 1 << 15

    /// y[rows] (+)= W · x for W [rows × columns] in encoding `e` at `base`, output rows split
    /// across the workers (each streams its own rows of W once).
    public static func matrixVector(_ e: BlockEncoding, _ base: UnsafeRawPointer, rowBytes: Int, rows: Int, columns: Int,
                                    x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>, accumulate: Bool) {
        let blocks = max(1, columns / 32)
        withUnsafeTemporaryAllocation(of: Float.self, capacity: blocks + columns + 1) { scratch in
            let s = scratch.baseAddress!, xp = s + blocks
            if e == .q4_0 || e == .q4_1 { blockSums(x, columns: columns, into: s) }
            permute(e, x, columns: columns, into: xp)
            let workers = rows * columns < parallelWeights ? 1 : Parallelism.threads
            parallelFor(rows, minPerThread: max(1, rows / workers)) { r0, r1 in
                dots(e, rows: base, rowBytes: rowBytes, columns: columns, r0, r1, x: x, xp: xp, sums: s, y: y, accumulate: accumulate)
            }
        }
    }

    // MARK: Conversion to float32

    /// Decodes one row of `columns` values at `src` into dst.
    public static func decode(_ e: BlockEncoding, row src: UnsafeRawPointer, columns n: Int, into dst: UnsafeMutablePointer<Float>) {
        switch e {
        case .f32:
            UnsafeMutableRawPointer(dst).copyMemory(from: src, byteCount: 4 * n)
        case .f16, .bf16:
            var i = 0
            while i + 16 <= n {
                let (even, odd) = e == .f16 ? halves16(src + 2 * i) : bfloats16(src + 2 * i)
                for j in 0..<8 { dst[i + 2 * j] = even[j]; dst[i + 2 * j + 1] = odd[j] }
                i += 16
            }
            while i < n {
                let bits = UInt16(littleEndian: src.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))
                dst[i] = e == .f16 ? floatFromFloat16Bits(bits) : floatFromBFloat16Bits(bits)
                i += 1
            }
        case .q8_0:
            for b in 0..<(n / 32) {
                let blk = src + 34 * b, y = dst + 32 * b
                let d = half(blk)
                let q = (blk + 2).assumingMemoryBound(to: Int8.self)
                for j in 0..<32 { y[j] = Float(q[j]) * d }
            }
        case .q4_0:
            for b in 0..<(n / 32) {
                let blk = src + 18 * b, y = dst + 32 * b
                let d = half(blk)
                let qs = (blk + 2).assumingMemoryBound(to: UInt8.self)
                for j in 0..<16 {
                    y[j] = Float(Int32(qs[j] & 0x0F) - 8) * d
                    y[j + 16] = Float(Int32(qs[j] >> 4) - 8) * d
                }
            }
        case .q4_1:
            for b in 0..<(n / 32) {
                let blk = src + 20 * b, y = dst + 32 * b
                let d = half(blk), m = half(blk + 2)
                let qs = (blk + 4).assumingMemoryBound(to: UInt8.self)
                for j in 0..<16 {
                    y[j] = Float(qs[j] & 0x0F) * d + m
                    y[j + 16] = Float(qs[j] >> 4) * d + m
                }
            }
        }
    }
}
