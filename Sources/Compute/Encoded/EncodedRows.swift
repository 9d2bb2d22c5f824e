import DecodeKernels

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
/// memory bandwidth. Float rows are widened to float32 in registers and multiplied into x with
/// FMA; no float copy of a row is ever written. Block rows run on 8-bit activations in C
/// (`matrixVector`), where AVX2's byte multiply-adds are reachable.
public enum EncodedRows {
    // MARK: Widening to float32
    //
    // Each vector is built lane by lane from scalar conversions, which LLVM turns into one
    // widening instruction (vcvtph2ps; vpmovsxbd + vcvtdq2ps; vpmovzxbd + vcvtdq2ps). Swift's
    // generic SIMD conversions (`SIMD8<Float>(SIMD8<Int32>)` and kin) compiled to a call per
    // vector instead, several times slower.

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

    /// Eight binary16 at p.
    @inline(__always)
    static func halves8(_ p: UnsafeRawPointer) -> SIMD8<Float> {
        #if arch(x86_64) && os(macOS)   // no Float16 there
        let h = p.assumingMemoryBound(to: UInt16.self)
        return SIMD8<Float>(floatFromFloat16Bits(h[0]), floatFromFloat16Bits(h[1]), floatFromFloat16Bits(h[2]),
                            floatFromFloat16Bits(h[3]), floatFromFloat16Bits(h[4]), floatFromFloat16Bits(h[5]),
                            floatFromFloat16Bits(h[6]), floatFromFloat16Bits(h[7]))
        #else
        let h = p.assumingMemoryBound(to: Float16.self)
        return SIMD8<Float>(Float(h[0]), Float(h[1]), Float(h[2]), Float(h[3]), Float(h[4]), Float(h[5]), Float(h[6]), Float(h[7]))
        #endif
    }

    /// Eight bfloat16 at p, each moved into the top half of a binary32.
    @inline(__always)
    static func bfloats8(_ p: UnsafeRawPointer) -> SIMD8<Float> {
        let b = p.assumingMemoryBound(to: UInt16.self)
        @inline(__always) func f(_ i: Int) -> Float { Float(bitPattern: UInt32(b[i]) << 16) }
        return SIMD8<Float>(f(0), f(1), f(2), f(3), f(4), f(5), f(6), f(7))
    }

    // MARK: Dot products (one row · x)

    /// A row of 32-bit or 16-bit floats: `width` bytes per value, `load` widens eight.
    @inline(__always)
    static func dotFloats(_ w: UnsafeRawPointer, _ x: UnsafePointer<Float>, _ n: Int, width: Int,
                          _ load: (UnsafeRawPointer) -> SIMD8<Float>, _ scalar: (UnsafeRawPointer) -> Float) -> Float {
        var a0 = SIMD8<Float>(), a1 = SIMD8<Float>(), a2 = SIMD8<Float>(), a3 = SIMD8<Float>()
        var i = 0
        while i + 32 <= n {
            let p = w + width * i
            a0.addProduct(load(p), load8(x + i))
            a1.addProduct(load(p + 8 * width), load8(x + i + 8))
            a2.addProduct(load(p + 16 * width), load8(x + i + 16))
            a3.addProduct(load(p + 24 * width), load8(x + i + 24))
            i += 32
        }
        while i + 8 <= n { a0.addProduct(load(w + width * i), load8(x + i)); i += 8 }
        var s = ((a0 + a1) + (a2 + a3)).sum()
        while i < n { s += scalar(w + width * i) * x[i]; i += 1 }
        return s
    }

    /// y[r] (+)= row r · x for rows r0..<r1 of a float matrix (f32, f16, bf16) whose rows are
    /// `rowBytes` apart.
    static func floatDots(_ e: BlockEncoding, rows base: UnsafeRawPointer, rowBytes: Int, columns n: Int, _ r0: Int, _ r1: Int,
                          x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>, accumulate: Bool) {
        @inline(__always) func each(_ dot: (UnsafeRawPointer) -> Float) {
            if accumulate {
                for r in r0..<r1 { y[r] += dot(base + r * rowBytes) }
            } else {
                for r in r0..<r1 { y[r] = dot(base + r * rowBytes) }
            }
        }
        switch e {
        case .f32: each { dotFloats($0, x, n, width: 4, { $0.loadUnaligned(as: SIMD8<Float>.self) }, { $0.loadUnaligned(as: Float.self) }) }
        case .f16: each { dotFloats($0, x, n, width: 2, halves8, half) }
        case .bf16: each { dotFloats($0, x, n, width: 2, bfloats8, { floatFromBFloat16Bits(UInt16(littleEndian: $0.loadUnaligned(as: UInt16.self))) }) }
        case .q8_0, .q4_0, .q4_1: preconditionFailure("block types run on 8-bit activations (matrixVector)")
        }
    }

    /// The C kernel's name for a block type.
    static func kernelType(_ e: BlockEncoding) -> Int32 {
        switch e {
        case .q8_0: return Int32(DK_Q8_0)
        case .q4_0: return Int32(DK_Q4_0)
        default: return Int32(DK_Q4_1)
        }
    }

    /// Below this many weights a matrix-vector product runs on one thread (waking a worker
    /// costs more than it saves).
    static let parallelWeights = 1 << 15

    /// y[rows] (+)= W · x for W [rows × columns] in encoding `e` at `base`, output rows split
    /// across the workers (each streams its own rows of W once).
    ///
    /// Float encodings multiply x as given. The block types (Q8_0, Q4_0, Q4_1) first quantize x
    /// to 8 bits per block of 32 and sum integer products (`DecodeKernels/block_dot.c`), as
    /// llama.cpp does: the result differs from the float product of the stored weights by x's
    /// rounding only (≤ half an activation step per value), and the kernel is twice as fast.
    public static func matrixVector(_ e: BlockEncoding, _ base: UnsafeRawPointer, rowBytes: Int, rows: Int, columns: Int,
                                    x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>, accumulate: Bool) {
        let workers = rows * columns < parallelWeights ? 1 : Parallelism.threads
        guard e.blockSize == 32 else {
            parallelFor(rows, minPerThread: max(1, rows / workers)) { r0, r1 in
                floatDots(e, rows: base, rowBytes: rowBytes, columns: columns, r0, r1, x: x, y: y, accumulate: accumulate)
            }
            return
        }
        let blocks = columns / 32
        withUnsafeTemporaryAllocation(of: dk_q8_block.self, capacity: max(1, blocks)) { scratch in
            let q = scratch.baseAddress!
            dk_quantize_q8(x, blocks, q)
            let type = kernelType(e), w = base.assumingMemoryBound(to: UInt8.self)
            parallelFor(rows, minPerThread: max(1, rows / workers)) { r0, r1 in
                dk_block_rows(type, w, rowBytes, blocks, q, r0, r1, y, accumulate ? 1 : 0)
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
            while i + 8 <= n { store8(e == .f16 ? halves8(src + 2 * i) : bfloats8(src + 2 * i), dst + i); i += 8 }
            while i < n {
                let bits = UInt16(littleEndian: (src + 2 * i).loadUnaligned(as: UInt16.self))
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
