import Compute

/// The two matrix products of a linear layer's backward pass (y = x·Wᵀ, W [out × in]):
///   input gradient   dX = dY·W          [rows × in]
///   weight gradient  dW += α·dYᵀ·X      [out × in]
/// BLAS runs single-threaded (see `BLAS`), so, like `BLAS.linear`, each product is split
/// across the workers along a dimension whose slices write disjoint memory.
extension BLAS {
    /// Work below this many multiply-adds runs on one worker (thread start-up would dominate).
    static let backwardSplitThreshold = 1 << 18

    private static func sliceWidth(_ n: Int, work: Int) -> Int? {
        let slices = work < backwardSplitThreshold ? 1 : min(Parallelism.partitions, max(1, n / 16))
        if slices <= 1 { return nil }
        return ((n + slices - 1) / slices + 15) / 16 * 16     // multiples of 16 keep panels aligned
    }

    /// Rows per worker for a product too thin to split by columns (all rows on one when small).
    private static func thinSplit(_ rows: Int, work: Int) -> Int {
        guard work >= backwardSplitThreshold, Parallelism.partitions > 1, rows >= 8 * Parallelism.partitions else { return max(1, rows) }
        return (rows + Parallelism.partitions - 1) / Parallelism.partitions
    }

    /// dX[rows × in] = dY[rows × out]·W[out × in] (+ dX when accumulate), split by input columns.
    static func linearInputGradient(_ dY: UnsafePointer<Float>, rows: Int, outFeatures: Int,
                                    weight: UnsafePointer<Float>, inFeatures: Int,
                                    into dX: UnsafeMutablePointer<Float>, accumulate: Bool) {
        let beta: Float = accumulate ? 1 : 0
        guard let per = sliceWidth(inFeatures, work: rows * outFeatures * inFeatures) else {
            // Thin results (dY·B of a rank-r adapter): split the rows when it pays.
            let rowsPer = thinSplit(rows, work: rows * outFeatures * inFeatures)
            parallelFor((rows + rowsPer - 1) / rowsPer) { s0, s1 in
                for s in s0..<s1 {
                    let r0 = s * rowsPer, r1 = min(rows, r0 + rowsPer)
                    sgemm(m: r1 - r0, n: inFeatures, k: outFeatures, a: dY + r0 * outFeatures, lda: outFeatures,
                          b: weight, ldb: inFeatures, beta: beta, c: dX + r0 * inFeatures, ldc: inFeatures)
                }
            }
            return
        }
        parallelFor((inFeatures + per - 1) / per) { s0, s1 in
            for s in s0..<s1 {
                let c0 = s * per, c1 = min(inFeatures, c0 + per)
                sgemm(m: rows, n: c1 - c0, k: outFeatures, a: dY, lda: outFeatures,
                      b: weight + c0, ldb: inFeatures, beta: beta, c: dX + c0, ldc: inFeatures)
            }
        }
    }

    /// dW[out × in] += alpha·dY[rows × out]ᵀ·X[rows × in], split by output rows (rows of dW).
    static func linearWeightGradient(_ dY: UnsafePointer<Float>, rows: Int, outFeatures: Int,
                                     input x: UnsafePointer<Float>, inFeatures: Int,
                                     into dW: UnsafeMutablePointer<Float>, alpha: Float = 1) {
        guard let per = sliceWidth(outFeatures, work: rows * outFeatures * inFeatures) else {
            // Few output rows (a rank-r adapter's dA): split dW's columns instead.
            guard let cols = sliceWidth(inFeatures, work: rows * outFeatures * inFeatures) else {
                sgemm(transA: true, m: outFeatures, n: inFeatures, k: rows, alpha: alpha, a: dY, lda: outFeatures,
                      b: x, ldb: inFeatures, beta: 1, c: dW, ldc: inFeatures)
                return
            }
            parallelFor((inFeatures + cols - 1) / cols) { s0, s1 in
                for s in s0..<s1 {
                    let c0 = s * cols, c1 = min(inFeatures, c0 + cols)
                    sgemm(transA: true, m: outFeatures, n: c1 - c0, k: rows, alpha: alpha, a: dY, lda: outFeatures,
                          b: x + c0, ldb: inFeatures, beta: 1, c: dW + c0, ldc: inFeatures)
                }
            }
            return
        }
        parallelFor((outFeatures + per - 1) / per) { s0, s1 in
            for s in s0..<s1 {
                let r0 = s * per, r1 = min(outFeatures, r0 + per)
                sgemm(transA: true, m: r1 - r0, n: inFeatures, k: rows, alpha: alpha, a: dY + r0, lda: outFeatures,
                      b: x, ldb: inFeatures, beta: 1, c: dW + r0 * inFeatures, ldc: inFeatures)
            }
        }
    }
}
