import Foundation
import Dispatch

/// Causal scaled-dot-product attention with grouped-query heads (Ainslie et al. 2023).
///
/// Queries are processed in blocks of rows; a block at absolute positions [p0, p1) only
/// multiplies against keys [0, p1), so the masked upper triangle is never computed
/// (about half the FLOPs of a dense T×T product at long lengths). Each (head, block) task
/// runs two single-threaded GEMMs (S = QKᵀ·scale, O = softmax(S)·V); tasks are spread
/// over the workers.
///
/// Layouts (row-major, strides in floats):
///   q   [qRows × qStride], head h at columns h·headDim, row r at position startPosition+r
///   k,v [(startPosition+qRows) × kvStride], kv-head g at columns g·headDim
///   out [qRows × outStride], head h at columns h·headDim
public func causalAttention(q: UnsafePointer<Float>, qRows: Int, qStride: Int, startPosition: Int,
                            keys: UnsafePointer<Float>, values: UnsafePointer<Float>, kvStride: Int,
                            heads: Int, kvHeads: Int, headDim: Int,
                            out: UnsafeMutablePointer<Float>, outStride: Int,
                            blockRows: Int = 128) {
    precondition(heads % kvHeads == 0, "heads (\(heads)) must be a multiple of kv heads (\(kvHeads))")
    let group = heads / kvHeads
    let scale = 1 / Float(headDim).squareRoot()
    let blocks = (qRows + blockRows - 1) / blockRows
    let tasks = heads * blocks
    let maxKeys = startPosition + qRows
    let workers = min(Parallelism.threads, tasks)
    if qRows == 1 && headDim % 8 == 0 {
        return decodeAttention(q: q, position: startPosition, keys: keys, values: values, kvStride: kvStride,
                               heads: heads, group: group, headDim: headDim, scale: scale, out: out)
    }

    DispatchQueue.concurrentPerform(iterations: workers) { w in
        let scores = UnsafeMutablePointer<Float>.allocate(capacity: min(blockRows, qRows) * maxKeys)
        defer { scores.deallocate() }
        // Largest blocks first would balance better; interleaving does nearly as well.
        var t = w
        while t < tasks {
            let b = blocks - 1 - t / heads          // start with the long (late) blocks
            let h = t % heads
            let g = h / group
            let r0 = b * blockRows, r1 = min(qRows, r0 + blockRows)
            let rows = r1 - r0
            let nKeys = startPosition + r1
            BLAS.sgemm(transA: false, transB: true, m: rows, n: nKeys, k: headDim, alpha: scale,
                       a: q + r0 * qStride + h * headDim, lda: qStride,
                       b: keys + g * headDim, ldb: kvStride,
                       beta: 0, c: scores, ldc: nKeys)
            for i in 0..<rows {
                let row = scores + i * nKeys
                let valid = startPosition + r0 + i + 1
                softmaxInPlace(row, count: valid)
                for j in valid..<nKeys { row[j] = 0 }
            }
            BLAS.sgemm(transA: false, transB: false, m: rows, n: headDim, k: nKeys,
                       a: scores, lda: nKeys, b: values + g * headDim, ldb: kvStride,
                       beta: 0, c: out + r0 * outStride + h * headDim, ldc: outStride)
            t += workers
        }
    }
}

/// One query row (batch-1 decode) against keys 0...position: per head, scores by SIMD dot
/// products, softmax, then the values summed with those weights — no GEMM calls, whose
/// set-up costs more than the few thousand multiply-adds of a head at m = 1.
private func decodeAttention(q: UnsafePointer<Float>, position: Int, keys: UnsafePointer<Float>,
                             values: UnsafePointer<Float>, kvStride: Int, heads: Int, group: Int, headDim: Int,
                             scale: Float, out: UnsafeMutablePointer<Float>) {
    let n = position + 1
    let workers = n * heads * headDim < 1 << 15 ? 1 : Parallelism.threads
    parallelFor(heads, minPerThread: max(1, heads / workers)) { h0, h1 in
        let scores = UnsafeMutablePointer<Float>.allocate(capacity: n)
        defer { scores.deallocate() }
        for h in h0..<h1 {
            let qh = q + h * headDim, g = h / group
            for j in 0..<n {
                let k = keys + j * kvStride + g * headDim
                // Four accumulators: one FMA chain through all of headDim stalled on its latency.
                var a0 = SIMD8<Float>(), a1 = SIMD8<Float>(), a2 = SIMD8<Float>(), a3 = SIMD8<Float>()
                var d = 0
                while d + 32 <= headDim {
                    a0.addProduct(loadVector(qh + d), loadVector(k + d)); a1.addProduct(loadVector(qh + d + 8), loadVector(k + d + 8))
                    a2.addProduct(loadVector(qh + d + 16), loadVector(k + d + 16)); a3.addProduct(loadVector(qh + d + 24), loadVector(k + d + 24))
                    d += 32
                }
                while d < headDim { a0.addProduct(loadVector(qh + d), loadVector(k + d)); d += 8 }
                scores[j] = ((a0 + a1) + (a2 + a3)).sum() * scale
            }
            softmaxInPlace(scores, count: n)
            // Σ_j p_j · v_j in tiles of 32 dimensions: one pass over the values per tile with four
            // independent accumulators (one pass per 8 dimensions re-read the cache 8 times).
            let o = out + h * headDim, vh = values + g * headDim
            var d = 0
            while d + 32 <= headDim {
                var a0 = SIMD8<Float>(), a1 = SIMD8<Float>(), a2 = SIMD8<Float>(), a3 = SIMD8<Float>()
                for j in 0..<n {
                    let p = SIMD8<Float>(repeating: scores[j]), v = vh + j * kvStride + d
                    a0.addProduct(p, loadVector(v)); a1.addProduct(p, loadVector(v + 8))
                    a2.addProduct(p, loadVector(v + 16)); a3.addProduct(p, loadVector(v + 24))
                }
                storeVector(a0, o + d); storeVector(a1, o + d + 8); storeVector(a2, o + d + 16); storeVector(a3, o + d + 24)
                d += 32
            }
            while d < headDim {
                var acc = SIMD8<Float>()
                for j in 0..<n { acc.addProduct(SIMD8<Float>(repeating: scores[j]), loadVector(vh + j * kvStride + d)) }
                storeVector(acc, o + d)
                d += 8
            }
        }
    }
}
