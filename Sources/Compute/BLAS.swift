import DecodeKernels
#if canImport(Accelerate)
import Accelerate
#else
import CBLAS
#endif

/// Thin, typed front of the BLAS we link: OpenBLAS on Linux, Accelerate on macOS.
/// Every matrix product in the engine goes through `sgemm`; all matrices are row-major.
///
/// Threading: BLAS itself always runs single-threaded and the engine splits work across
/// cores (`parallelFor`). OpenBLAS's own pool busy-waits after each call; mixing it with our
/// workers (attention runs many small products in parallel) made two workers slower than
/// one. Splitting a large product by output columns costs nothing measurable at 2 cores.
public enum BLAS {
    private static let singleThreaded: Void = {
        #if !canImport(Accelerate)
        openblas_set_num_threads(1)
        #endif
    }()

    /// C[m×n] = alpha · op(A) · op(B) + beta · C, row-major with leading dimensions.
    @inline(__always)
    public static func sgemm(transA: Bool = false, transB: Bool = false,
                             m: Int, n: Int, k: Int, alpha: Float = 1,
                             a: UnsafePointer<Float>, lda: Int,
                             b: UnsafePointer<Float>, ldb: Int,
                             beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int) {
        if m == 0 || n == 0 { return }
        _ = singleThreaded
        #if SECATEUR_SANITIZER_PROBES
        probeOperands(transA: transA, transB: transB, m: m, n: n, k: k, a: a, lda: lda, b: b, ldb: ldb, c: c, ldc: ldc)
        #endif
        cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
                    Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }

    #if SECATEUR_SANITIZER_PROBES
    /// OpenBLAS is not instrumented, so a sanitizer sees none of its accesses. In sanitizer
    /// builds (bench/bench_sanitizers.sh) every element a product will read is read here first,
    /// and every element it will write is read and written back, from Swift: AddressSanitizer
    /// then checks each operand's extent, and ThreadSanitizer sees which thread touches which
    /// part of a shared output (the workers' slices must be disjoint).
    private static func probeOperands(transA: Bool, transB: Bool, m: Int, n: Int, k: Int,
                                      a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
                                      c: UnsafeMutablePointer<Float>, ldc: Int) {
        precondition(m > 0 && n > 0 && k >= 0, "sgemm: sizes m \(m), n \(n), k \(k)")
        func read(_ p: UnsafePointer<Float>, rows: Int, columns: Int, ld: Int) {
            precondition(columns == 0 || ld >= columns, "sgemm: leading dimension \(ld) < \(columns) columns")
            _ = dk_probe_read(p, rows, columns, ld)
        }
        if k > 0 {
            read(a, rows: transA ? k : m, columns: transA ? m : k, ld: lda)
            read(b, rows: transB ? n : k, columns: transB ? k : n, ld: ldb)
        }
        precondition(ldc >= n, "sgemm: ldc \(ldc) < n \(n)")
        dk_probe_write(c, m, n, ldc)
    }
    #endif

    /// y = x · Wᵀ (+ beta·y) for a linear layer with weight W [out × in] and x [rows × in],
    /// split by output features across the workers when it is large enough to pay.
    public static func linear(_ x: UnsafePointer<Float>, rows: Int, inFeatures: Int,
                              weight: UnsafePointer<Float>, outFeatures: Int,
                              into y: UnsafeMutablePointer<Float>, accumulate: Bool = false) {
        if rows == 1 {
            // Batch-1 decode: sgemm at m = 1 packs W into panels before using each value once;
            // the matrix-vector kernel streams W straight from memory (`EncodedRows`).
            EncodedRows.matrixVector(.f32, UnsafeRawPointer(weight), rowBytes: 4 * inFeatures, rows: outFeatures,
                                     columns: inFeatures, x: x, y: y, accumulate: accumulate)
            return
        }
        let work = rows * outFeatures * inFeatures
        // Column slices stay multiples of 16 so each worker's B panel is well aligned.
        // Cut by `Parallelism.partitions`, not `threads`: the same cuts, hence the same bits, for any
        // thread count.
        let parts = Parallelism.partitions
        let slices = work < 1 << 18 ? 1 : min(parts, max(1, outFeatures / 16))
        if slices == 1, work >= 1 << 18, parts > 1, rows >= 8 * parts {
            // Thin outputs (a LoRA adapter's rank-r product): split the rows instead.
            let per = (rows + parts - 1) / parts
            parallelFor(parts) { s0, s1 in
                for s in s0..<s1 {
                    let r0 = s * per, r1 = min(rows, r0 + per)
                    if r0 >= r1 { continue }
                    sgemm(transA: false, transB: true, m: r1 - r0, n: outFeatures, k: inFeatures,
                          a: x + r0 * inFeatures, lda: inFeatures, b: weight, ldb: inFeatures,
                          beta: accumulate ? 1 : 0, c: y + r0 * outFeatures, ldc: outFeatures)
                }
            }
            return
        }
        if slices == 1 {
            sgemm(transA: false, transB: true, m: rows, n: outFeatures, k: inFeatures,
                  a: x, lda: inFeatures, b: weight, ldb: inFeatures,
                  beta: accumulate ? 1 : 0, c: y, ldc: outFeatures)
            return
        }
        let per = ((outFeatures + slices - 1) / slices + 15) / 16 * 16
        parallelFor(slices) { s0, s1 in
            for s in s0..<s1 {
                let c0 = s * per, c1 = min(outFeatures, c0 + per)
                if c0 >= c1 { continue }
                sgemm(transA: false, transB: true, m: rows, n: c1 - c0, k: inFeatures,
                      a: x, lda: inFeatures, b: weight + c0 * inFeatures, ldb: inFeatures,
                      beta: accumulate ? 1 : 0, c: y + c0, ldc: outFeatures)
            }
        }
    }
}
