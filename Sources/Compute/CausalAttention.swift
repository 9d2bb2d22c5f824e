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
