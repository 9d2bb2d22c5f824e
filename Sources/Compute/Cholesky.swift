#if canImport(Accelerate)
import Accelerate
#else
import CBLAS
#endif

/// Cholesky factorization and inverse of symmetric positive-definite float32 matrices,
/// through LAPACK (OpenBLAS's spotrf/spotri on Linux, Accelerate on macOS).
///
/// All matrices are dense, row-major, n×n. LAPACK is column-major; since the inputs are
/// symmetric, a row-major buffer is the same matrix, and LAPACK's "upper" triangle in
/// column-major is our row-major lower triangle. The wrappers below translate that so
/// callers only see row-major semantics.
public enum Cholesky {
    public enum Failure: Error, CustomStringConvertible, Equatable {
        /// The leading minor of this order (1-based) is not positive definite.
        case notPositiveDefinite(order: Int)
        /// A non-finite entry (NaN or ±inf) was found in the input.
        case nonFinite

        public var description: String {
            switch self {
            case .notPositiveDefinite(let k):
                return "matrix is not positive definite (leading minor of order \(k) failed)"
            case .nonFinite:
                return "matrix has a NaN or infinite entry"
            }
        }
    }

    /// In place: A (symmetric, row-major) → its Cholesky factor. `upper == false` gives
    /// lower-triangular L with A = L·Lᵀ (torch.linalg.cholesky); `upper == true` gives
    /// upper-triangular U with A = Uᵀ·U (torch.linalg.cholesky(upper=True)). The other
    /// triangle is set to zero. Only the triangle being factored is read.
    public static func factor(_ a: inout [Float], n: Int, upper: Bool) throws(Failure) {
        precondition(a.count == n * n, "Cholesky.factor: buffer is not n×n")
        if n == 0 { return }
        // Row-major lower == column-major upper.
        let info = a.withUnsafeMutableBufferPointer { potrf(upperColumnMajor: !upper, n: n, $0.baseAddress!) }
        if info > 0 { throw .notPositiveDefinite(order: info) }
        precondition(info == 0, "spotrf: illegal argument \(-info)")
        zeroOtherTriangle(&a, n: n, keepUpper: upper)
        if !a.allSatisfy({ $0.isFinite }) { throw .nonFinite }
    }

    /// A⁻¹ from the lower factor L of A = L·Lᵀ (torch.cholesky_inverse(L)); full symmetric result.
    public static func inverse(fromLower l: [Float], n: Int) -> [Float] {
        precondition(l.count == n * n)
        var a = l
        if n == 0 { return a }
        // Our lower triangle is LAPACK's column-major upper triangle: its factor U = Lᵀ.
        let info = a.withUnsafeMutableBufferPointer { potri(upperColumnMajor: true, n: n, $0.baseAddress!) }
        precondition(info >= 0, "spotri: illegal argument \(-info)")
        // spotri writes the row-major lower triangle; mirror it.
        for i in 0..<n { for j in (i + 1)..<max(i + 1, n) { a[i * n + j] = a[j * n + i] } }
        return a
    }

    /// A⁻¹ of a symmetric positive-definite A (via its Cholesky factor).
    public static func inverse(_ a: [Float], n: Int) throws(Failure) -> [Float] {
        var l = a
        try factor(&l, n: n, upper: false)
        return inverse(fromLower: l, n: n)
    }

    /// Upper-triangular U with A⁻¹ = Uᵀ·U, built the way SparseGPT (Frantar & Alistarh 2023,
    /// sec. 3.2 / Alg. 1) builds it: cholesky(A) → cholesky_inverse → cholesky(upper). Row j
    /// of U holds the (scaled) inverse-Hessian rows that the column-by-column OBS updates use.
    public static func upperFactorOfInverse(_ a: [Float], n: Int) throws(Failure) -> [Float] {
        if !a.allSatisfy({ $0.isFinite }) { throw .nonFinite }
        var inv = try inverse(a, n: n)
        try factor(&inv, n: n, upper: true)
        return inv
    }

    private static func zeroOtherTriangle(_ a: inout [Float], n: Int, keepUpper: Bool) {
        for i in 0..<n {
            if keepUpper { for j in 0..<i { a[i * n + j] = 0 } }
            else { for j in (i + 1)..<max(i + 1, n) { a[i * n + j] = 0 } }
        }
    }

    /// Same policy as `BLAS`: OpenBLAS's own pool stays at one thread.
    private static let singleThreaded: Void = {
        #if !canImport(Accelerate)
        openblas_set_num_threads(1)
        #endif
    }()

    private static func potrf(upperColumnMajor: Bool, n: Int, _ p: UnsafeMutablePointer<Float>) -> Int {
        _ = singleThreaded
        #if canImport(Accelerate)
        var uplo: Int8 = upperColumnMajor ? 85 : 76   // 'U' / 'L'
        var nn = __CLPK_integer(n), lda = __CLPK_integer(n), info: __CLPK_integer = 0
        spotrf_(&uplo, &nn, p, &lda, &info)
        return Int(info)
        #else
        var uplo: CChar = upperColumnMajor ? 85 : 76
        var nn = Int32(n), lda = Int32(n), info: Int32 = 0
        spotrf_(&uplo, &nn, p, &lda, &info)
        return Int(info)
        #endif
    }

    private static func potri(upperColumnMajor: Bool, n: Int, _ p: UnsafeMutablePointer<Float>) -> Int {
        #if canImport(Accelerate)
        var uplo: Int8 = upperColumnMajor ? 85 : 76
        var nn = __CLPK_integer(n), lda = __CLPK_integer(n), info: __CLPK_integer = 0
        spotri_(&uplo, &nn, p, &lda, &info)
        return Int(info)
        #else
        var uplo: CChar = upperColumnMajor ? 85 : 76
        var nn = Int32(n), lda = Int32(n), info: Int32 = 0
        spotri_(&uplo, &nn, p, &lda, &info)
        return Int(info)
        #endif
    }
}
