import Dispatch
import Compute

/// Backward of `causalAttention` (Compute/CausalAttention.swift) over a whole window
/// (positions 0..<rows, no cache). Per head h with kv-head g = h / (heads / kvHeads):
///   S = c·Q_h·K_gᵀ (c = 1/√d, causal), P = softmax_rows(S), O_h = P·V_g
/// and, for the output gradient dO_h,
///   dV_g += Pᵀ·dO_h
///   dP    = dO_h·V_gᵀ
///   dS    = P ⊙ (dP − rowsum(P ⊙ dP))                  (softmax Jacobian, row by row)
///   dQ_h  = c·dS·K_g
///   dK_g += c·dSᵀ·Q_h
/// P is recomputed here (one T×T product per head) rather than kept from the forward.
/// Masked entries have P = 0, so dS is 0 there without further masking.
/// Heads run in parallel; each writes its own dK/dV slice, summed over the query heads of a
/// group at the end (GQA), so no two workers write the same memory.
///
/// Layouts as the forward: q/dQ [rows × qStride], k/v/dK/dV [rows × kvStride],
/// dO [rows × qStride]; head h at columns h·headDim. dQ, dK, dV are overwritten.
func causalAttentionBackward(q: UnsafePointer<Float>, keys: UnsafePointer<Float>, values: UnsafePointer<Float>,
                             outputGradient dO: UnsafePointer<Float>, rows: Int, qStride: Int, kvStride: Int,
                             heads: Int, kvHeads: Int, headDim: Int,
                             queryGradient dQ: UnsafeMutablePointer<Float>,
                             keyGradient dK: UnsafeMutablePointer<Float>,
                             valueGradient dV: UnsafeMutablePointer<Float>) {
    precondition(heads % kvHeads == 0, "heads (\(heads)) must be a multiple of kv heads (\(kvHeads))")
    let group = heads / kvHeads
    let scale = 1 / Float(headDim).squareRoot()
    let t = rows, hd = headDim
    // Per query head: its contribution to its kv-head's dK and dV, [heads × rows × headDim].
    let headKeyGrad = UnsafeMutablePointer<Float>.allocate(capacity: heads * t * hd)
    let headValueGrad = UnsafeMutablePointer<Float>.allocate(capacity: heads * t * hd)
    defer { headKeyGrad.deallocate(); headValueGrad.deallocate() }

    let workers = min(Parallelism.threads, heads)
    DispatchQueue.concurrentPerform(iterations: workers) { w in
        let p = UnsafeMutablePointer<Float>.allocate(capacity: t * t)
        let dS = UnsafeMutablePointer<Float>.allocate(capacity: t * t)
        defer { p.deallocate(); dS.deallocate() }
        var h = w
        while h < heads {
            let g = h / group
            let qh = q + h * hd, kg = keys + g * hd, vg = values + g * hd, dOh = dO + h * hd
            BLAS.sgemm(transA: false, transB: true, m: t, n: t, k: hd, alpha: scale,
                       a: qh, lda: qStride, b: kg, ldb: kvStride, beta: 0, c: p, ldc: t)
            for i in 0..<t {
                let row = p + i * t
                softmaxInPlace(row, count: i + 1)
                for j in (i + 1)..<t { row[j] = 0 }
            }
            // dV_h = Pᵀ·dO_h
            BLAS.sgemm(transA: true, transB: false, m: t, n: hd, k: t,
                       a: p, lda: t, b: dOh, ldb: qStride, beta: 0, c: headValueGrad + h * t * hd, ldc: hd)
            // dP = dO_h·V_gᵀ, then dS in place.
            BLAS.sgemm(transA: false, transB: true, m: t, n: t, k: hd,
                       a: dOh, lda: qStride, b: vg, ldb: kvStride, beta: 0, c: dS, ldc: t)
            for i in 0..<t {
                let pr = p + i * t, dr = dS + i * t
                var dot: Float = 0
                for j in 0...i { dot += pr[j] * dr[j] }
                for j in 0...i { dr[j] = pr[j] * (dr[j] - dot) }
                for j in (i + 1)..<t { dr[j] = 0 }
            }
            // dQ_h = c·dS·K_g ; dK_h = c·dSᵀ·Q_h
            BLAS.sgemm(transA: false, transB: false, m: t, n: hd, k: t, alpha: scale,
                       a: dS, lda: t, b: kg, ldb: kvStride, beta: 0, c: dQ + h * hd, ldc: qStride)
            BLAS.sgemm(transA: true, transB: false, m: t, n: hd, k: t, alpha: scale,
                       a: dS, lda: t, b: qh, ldb: qStride, beta: 0, c: headKeyGrad + h * t * hd, ldc: hd)
            h += workers
        }
    }
    // Sum each group's query-head contributions into its kv-head columns.
    for g in 0..<kvHeads {
        for r in 0..<t {
            let dk = dK + r * kvStride + g * hd, dv = dV + r * kvStride + g * hd
            for j in 0..<hd { dk[j] = 0; dv[j] = 0 }
            for h in (g * group)..<((g + 1) * group) {
                let sk = headKeyGrad + (h * t + r) * hd, sv = headValueGrad + (h * t + r) * hd
                for j in 0..<hd { dk[j] += sk[j]; dv[j] += sv[j] }
            }
        }
    }
}
