#if canImport(Accelerate)
import Accelerate
#else
import CBLAS
#endif

/// Thin, typed front of the BLAS we link: OpenBLAS on Linux, Accelerate on macOS.
/// Every matrix product in the engine goes through `sgemm`; all matrices are row-major.
public enum BLAS {
    /// C[m×n] = alpha · op(A) · op(B) + beta · C, row-major with leading dimensions.
    @inline(__always)
    public static func sgemm(transA: Bool = false, transB: Bool = false,
                             m: Int, n: Int, k: Int, alpha: Float = 1,
                             a: UnsafePointer<Float>, lda: Int,
                             b: UnsafePointer<Float>, ldb: Int,
                             beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int) {
        if m == 0 || n == 0 { return }
        cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
                    Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }

    /// y = x · Wᵀ (+ beta·y) for a linear layer with weight W [out × in] and x [rows × in].
    @inline(__always)
    public static func linear(_ x: UnsafePointer<Float>, rows: Int, inFeatures: Int,
                              weight: UnsafePointer<Float>, outFeatures: Int,
                              into y: UnsafeMutablePointer<Float>, accumulate: Bool = false) {
        sgemm(transA: false, transB: true, m: rows, n: outFeatures, k: inFeatures,
              a: x, lda: inFeatures, b: weight, ldb: inFeatures,
              beta: accumulate ? 1 : 0, c: y, ldc: outFeatures)
    }

    /// Threads BLAS may use. The engine sets 1 around regions where it parallelises
    /// many small products itself, and restores the full count for large GEMMs.
    public static func setThreads(_ n: Int) {
        #if !canImport(Accelerate)
        openblas_set_num_threads(Int32(n))
        #endif
    }
}
