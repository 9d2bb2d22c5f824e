/// The loops shared by the sparse storage formats (CSR, packed N:M): how a product
/// y = x·Wᵀ is split across workers, and the two inner kernels.
///
/// Decode (one input row) is a matrix-vector product bound by the bytes of W streamed from
/// memory; each output is a dot product of the row's stored values with x gathered at their
/// columns (x is small and stays in L1). Eight values per step in two accumulators keep
/// the FMA unit busy while the loads are in flight.
///
/// Prefill (n input rows) first transposes x to xT [columns × n]; each stored weight w at
/// column c then updates a block of outputs with one contiguous SIMD axpy, acc += w·xT[c, block].
/// No gathers, and every loaded weight is used n times, like a dense GEMM but over non-zeros
/// only (the "outer product" order of sparse × dense products, e.g. Gale et al. 2020).
public enum SparseProducts {
    /// Below this many multiply-adds a product runs on one thread (waking workers costs more).
    static let parallelWork = 1 << 16

    /// y[r] (+)= dot(r) for every output r, split across workers by output rows.
    @inline(__always)
    static func vector(outputs: Int, work: Int, y: UnsafeMutablePointer<Float>, accumulate: Bool,
                       _ dot: (Int) -> Float) {
        let workers = work < parallelWork ? 1 : Parallelism.threads
        parallelFor(outputs, minPerThread: max(1, outputs / workers)) { r0, r1 in
            if accumulate {
                for r in r0..<r1 { y[r] += dot(r) }
            } else {
                for r in r0..<r1 { y[r] = dot(r) }
            }
        }
    }

    // The three gather kernels below differ only in how a value's column is found. They are
    // written out rather than sharing a column closure: with a closure the N:M variant ran
    // 10× slower (not inlined into the unrolled loop).

    /// CSR row: Σ values[i] · x[columns[i]].
    @inline(__always)
    static func gatherDot(values v: UnsafePointer<Float>, columns c: UnsafePointer<UInt16>, count: Int,
                          x: UnsafePointer<Float>) -> Float {
        var a0 = SIMD8<Float>(), a1 = SIMD8<Float>()
        var i = 0
        while i + 16 <= count {
            let x0 = SIMD8<Float>(x[Int(c[i])], x[Int(c[i + 1])], x[Int(c[i + 2])], x[Int(c[i + 3])],
                                  x[Int(c[i + 4])], x[Int(c[i + 5])], x[Int(c[i + 6])], x[Int(c[i + 7])])
            let x1 = SIMD8<Float>(x[Int(c[i + 8])], x[Int(c[i + 9])], x[Int(c[i + 10])], x[Int(c[i + 11])],
                                  x[Int(c[i + 12])], x[Int(c[i + 13])], x[Int(c[i + 14])], x[Int(c[i + 15])])
            a0.addProduct(load8(v + i), x0)
            a1.addProduct(load8(v + i + 8), x1)
            i += 16
        }
        var s = (a0 + a1).sum()
        while i < count { s += v[i] * x[Int(c[i])]; i += 1 }
        return s
    }

    /// N:M row with power-of-two keep and group: value j sits at column
    /// ((j >> keepShift) << groupShift) + offsets[j].
    @inline(__always)
    static func gatherDot(values v: UnsafePointer<Float>, offsets o: UnsafePointer<UInt8>, count: Int,
                          keepShift: Int, groupShift: Int, x: UnsafePointer<Float>) -> Float {
        var a0 = SIMD8<Float>(), a1 = SIMD8<Float>()
        var i = 0
        @inline(__always) func at(_ j: Int) -> Float { x[((j &>> keepShift) &<< groupShift) + Int(o[j])] }
        while i + 16 <= count {
            let x0 = SIMD8<Float>(at(i), at(i + 1), at(i + 2), at(i + 3), at(i + 4), at(i + 5), at(i + 6), at(i + 7))
            let x1 = SIMD8<Float>(at(i + 8), at(i + 9), at(i + 10), at(i + 11), at(i + 12), at(i + 13), at(i + 14), at(i + 15))
            a0.addProduct(load8(v + i), x0)
            a1.addProduct(load8(v + i + 8), x1)
            i += 16
        }
        var s = (a0 + a1).sum()
        while i < count { s += v[i] * at(i); i += 1 }
        return s
    }

    /// N:M row, any keep and group: value j sits at column groupStart[j] + offsets[j].
    @inline(__always)
    static func gatherDot(values v: UnsafePointer<Float>, offsets o: UnsafePointer<UInt8>, count: Int,
                          groupStart g: UnsafePointer<Int32>, x: UnsafePointer<Float>) -> Float {
        var a0 = SIMD8<Float>()
        var i = 0
        @inline(__always) func at(_ j: Int) -> Float { x[Int(g[j]) + Int(o[j])] }
        while i + 8 <= count {
            a0.addProduct(load8(v + i), SIMD8<Float>(at(i), at(i + 1), at(i + 2), at(i + 3), at(i + 4), at(i + 5), at(i + 6), at(i + 7)))
            i += 8
        }
        var s = a0.sum()
        while i < count { s += v[i] * at(i); i += 1 }
        return s
    }

    /// Transposes x [n × inputs] into xT [inputs × n] (caller deallocates).
    static func transposed(_ x: UnsafePointer<Float>, tokens n: Int, inputs: Int) -> UnsafeMutablePointer<Float> {
        let xT = UnsafeMutablePointer<Float>.allocate(capacity: max(1, inputs * n))
        for t in 0..<n {
            let row = x + t * inputs
            for c in 0..<inputs { xT[c * n + t] = row[c] }
        }
        return xT
    }

    /// y[t, r] (+)= Σ_i values[i] · xT[columns[i], t] for all n tokens t: one output row of a
    /// sparse × dense product, in blocks of 32 tokens (four SIMD8 accumulators in registers),
    /// then 8, then 1.
    @inline(__always)
    static func rowTimesTokens(values v: UnsafePointer<Float>, columns c: UnsafePointer<Int32>, count: Int,
                               xT: UnsafePointer<Float>, tokens n: Int,
                               y: UnsafeMutablePointer<Float>, row r: Int, outputs: Int, accumulate: Bool) {
        var t0 = 0
        while t0 + 32 <= n {
            var a0 = SIMD8<Float>(), a1 = SIMD8<Float>(), a2 = SIMD8<Float>(), a3 = SIMD8<Float>()
            let base = xT + t0
            for i in 0..<count {
                let p = base + Int(c[i]) * n
                let w = SIMD8<Float>(repeating: v[i])
                a0.addProduct(w, load8(p)); a1.addProduct(w, load8(p + 8))
                a2.addProduct(w, load8(p + 16)); a3.addProduct(w, load8(p + 24))
            }
            store(a0, y, t0, r, outputs, accumulate); store(a1, y, t0 + 8, r, outputs, accumulate)
            store(a2, y, t0 + 16, r, outputs, accumulate); store(a3, y, t0 + 24, r, outputs, accumulate)
            t0 += 32
        }
        while t0 + 8 <= n {
            var a0 = SIMD8<Float>()
            let base = xT + t0
            for i in 0..<count { a0.addProduct(SIMD8<Float>(repeating: v[i]), load8(base + Int(c[i]) * n)) }
            store(a0, y, t0, r, outputs, accumulate)
            t0 += 8
        }
        while t0 < n {
            var s: Float = 0
            for i in 0..<count { s += v[i] * xT[Int(c[i]) * n + t0] }
            if accumulate { y[t0 * outputs + r] += s } else { y[t0 * outputs + r] = s }
            t0 += 1
        }
    }

    /// Above this density the sparse × dense kernel loses to densifying and calling BLAS
    /// (`secateur bench sparse --tokens 128` on a 2-core EPYC: CSR at density 0.3 ran 0.84–1.14×
    /// dense BLAS, at 0.5 0.61–0.83×; packed 2:4 0.65–0.89×). Two FMA units per core make a
    /// tuned dense GEMM hard to beat unless most of the work is skipped.
    public static let densifyAboveDensity = 0.25

    /// y = x·Wᵀ for n tokens by densifying W a slice of output rows at a time (per worker,
    /// about 1 MB: the slice stays in L2) and calling BLAS on each slice. Every slice's sgemm
    /// packs x again, so slices are as tall as L2 allows. `fillRows` writes the slice's non-zeros into a zeroed
    /// buffer, or every value when `zeroFill` is false.
    @inline(__always)
    static func densifiedProduct(outputs: Int, inputs: Int, tokens n: Int, x: UnsafePointer<Float>,
                                 y: UnsafeMutablePointer<Float>, accumulate: Bool, zeroFill: Bool = true,
                                 fillRows: (Int, Int, UnsafeMutablePointer<Float>) -> Void) {
        let tall = max(64, min(512, (1 << 18) / max(1, inputs)))
        // At least one slice per worker.
        let slice = max(16, min(tall, (outputs + Parallelism.threads - 1) / Parallelism.threads))
        let slices = (outputs + slice - 1) / slice
        let workers = outputs * inputs * n < 1 << 18 ? 1 : Parallelism.threads
        parallelFor(slices, minPerThread: max(1, slices / workers)) { s0, s1 in
            let w = UnsafeMutablePointer<Float>.allocate(capacity: slice * inputs)
            defer { w.deallocate() }
            for s in s0..<s1 {
                let r0 = s * slice, r1 = min(outputs, r0 + slice)
                if zeroFill { w.initialize(repeating: 0, count: (r1 - r0) * inputs) }
                fillRows(r0, r1, w)
                BLAS.sgemm(transA: false, transB: true, m: n, n: r1 - r0, k: inputs, a: x, lda: inputs,
                           b: w, ldb: inputs, beta: accumulate ? 1 : 0, c: y + r0, ldc: outputs)
            }
        }
    }

    /// Runs body(r0, r1, columnScratch) over output rows split across workers; each worker
    /// gets its own scratch of `scratch` Int32 (a row's absolute column indices).
    @inline(__always)
    static func overRows(outputs: Int, work: Int, scratch: Int,
                         _ body: (Int, Int, UnsafeMutablePointer<Int32>) -> Void) {
        let workers = work < parallelWork ? 1 : Parallelism.threads
        parallelFor(outputs, minPerThread: max(1, outputs / workers)) { r0, r1 in
            let cols = UnsafeMutablePointer<Int32>.allocate(capacity: max(1, scratch))
            defer { cols.deallocate() }
            body(r0, r1, cols)
        }
    }

    @inline(__always)
    static func load8(_ p: UnsafePointer<Float>) -> SIMD8<Float> {
        UnsafeRawPointer(p).loadUnaligned(as: SIMD8<Float>.self)
    }

    @inline(__always)
    static func load8(_ p: UnsafeMutablePointer<Float>) -> SIMD8<Float> { load8(UnsafePointer(p)) }

    /// Writes 8 tokens' values of output r (a column of y, stride `outputs`).
    @inline(__always)
    static func store(_ a: SIMD8<Float>, _ y: UnsafeMutablePointer<Float>, _ t0: Int, _ r: Int, _ outputs: Int, _ accumulate: Bool) {
        for k in 0..<8 {
            let p = y + (t0 + k) * outputs + r
            if accumulate { p.pointee += a[k] } else { p.pointee = a[k] }
        }
    }
}
