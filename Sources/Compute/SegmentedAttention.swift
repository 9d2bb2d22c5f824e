import Dispatch

/// One sequence inside a packed batch of rows: `count` rows from row `start`, at positions
/// prefixCount ..< prefixCount + count, continuing the `prefixCount` rows at `prefixStart`
/// (another sequence of the batch, read whole, e.g. a multiple-choice context shared by its choices;
/// prefixCount = 0: a sequence of its own, from position 0).
public struct AttentionSegment: Sendable, Equatable {
    public var start: Int
    public var count: Int
    public var prefixStart: Int
    public var prefixCount: Int

    public init(start: Int, count: Int, prefixStart: Int = 0, prefixCount: Int = 0) {
        self.start = start; self.count = count; self.prefixStart = prefixStart; self.prefixCount = prefixCount
    }
}

/// Causal grouped-query attention over sequences packed into one batch of rows (so the projections
/// around it run as one large GEMM over every sequence): each segment's query row i attends to all
/// of its prefix's keys and to its own keys 0…i. Same arithmetic per row as `causalAttention`;
/// the prefix and own keys are two GEMMs into adjacent columns of one score block, no copies.
/// Layouts as `causalAttention`, with keys/values indexed by packed row.
public func segmentedCausalAttention(q: UnsafePointer<Float>, qStride: Int,
                                     keys: UnsafePointer<Float>, values: UnsafePointer<Float>, kvStride: Int,
                                     heads: Int, kvHeads: Int, headDim: Int, segments: [AttentionSegment],
                                     out: UnsafeMutablePointer<Float>, outStride: Int, blockRows: Int = 128) {
    precondition(heads % kvHeads == 0, "heads (\(heads)) must be a multiple of kv heads (\(kvHeads))")
    let group = heads / kvHeads
    let scale = 1 / Float(headDim).squareRoot()
    // Tasks: (segment, row block, head), longest key spans first for balance.
    var blocks: [(segment: Int, r0: Int, r1: Int)] = []
    for (s, seg) in segments.enumerated() where seg.count > 0 {
        var r0 = 0
        while r0 < seg.count { blocks.append((s, r0, min(seg.count, r0 + blockRows))); r0 += blockRows }
    }
    blocks.sort { segments[$0.segment].prefixCount + $0.r1 > segments[$1.segment].prefixCount + $1.r1 }
    let tasks = blocks.count * heads
    guard tasks > 0 else { return }
    let maxScores = blocks.map { ($0.r1 - $0.r0) * (segments[$0.segment].prefixCount + $0.r1) }.max()!
    let workers = min(Parallelism.threads, tasks)

    blocks.withUnsafeBufferPointer { bb in
        DispatchQueue.concurrentPerform(iterations: workers) { w in
            let scores = UnsafeMutablePointer<Float>.allocate(capacity: maxScores)
            defer { scores.deallocate() }
            var t = w
            while t < tasks {
                let blk = bb[t / heads], h = t % heads, g = h / group
                let seg = segments[blk.segment]
                let p = seg.prefixCount, rows = blk.r1 - blk.r0, nKeys = p + blk.r1
                let qBlock = q + (seg.start + blk.r0) * qStride + h * headDim
                if p > 0 {
                    BLAS.sgemm(transA: false, transB: true, m: rows, n: p, k: headDim, alpha: scale,
                               a: qBlock, lda: qStride, b: keys + seg.prefixStart * kvStride + g * headDim, ldb: kvStride,
                               beta: 0, c: scores, ldc: nKeys)
                }
                BLAS.sgemm(transA: false, transB: true, m: rows, n: blk.r1, k: headDim, alpha: scale,
                           a: qBlock, lda: qStride, b: keys + seg.start * kvStride + g * headDim, ldb: kvStride,
                           beta: 0, c: scores + p, ldc: nKeys)
                for i in 0..<rows {
                    let row = scores + i * nKeys
                    let valid = p + blk.r0 + i + 1
                    softmaxInPlace(row, count: valid)
                    for j in valid..<nKeys { row[j] = 0 }
                }
                let o = out + (seg.start + blk.r0) * outStride + h * headDim
                if p > 0 {
                    BLAS.sgemm(transA: false, transB: false, m: rows, n: headDim, k: p,
                               a: scores, lda: nKeys, b: values + seg.prefixStart * kvStride + g * headDim, ldb: kvStride,
                               beta: 0, c: o, ldc: outStride)
                }
                BLAS.sgemm(transA: false, transB: false, m: rows, n: headDim, k: blk.r1,
                           a: scores + p, lda: nKeys, b: values + seg.start * kvStride + g * headDim, ldb: kvStride,
                           beta: p > 0 ? 1 : 0, c: o, ldc: outStride)
                t += workers
            }
        }
    }
}
