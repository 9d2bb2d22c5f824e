import Compute

/// Running estimate of the layer-wise Hessian H = 2·XᵀX / n of the reconstruction loss
/// ‖W·X − Ŵ·X‖² for one linear layer with `cols` inputs (SparseGPT, Frantar & Alistarh 2023,
/// sec. 3: H = 2·X·Xᵀ in their column convention).
///
/// What `n` counts: calibration *samples* (sequences), as in the reference `add_batch`,
/// where `tmp = inp.shape[0]` is the batch size, not the number of tokens. Every sample
/// contributes all its tokens, so after k samples of T tokens H = (2/k)·Σ_{all k·T tokens} x·xᵀ.
/// (Wanda/RIA's calibration feeds one sequence per forward, i.e. `samples: 1` per call.)
///
/// Numerics follow the reference running update, in float32 as it does on GPU:
///   H ← H · n/(n+s);  n ← n+s;  x ← sqrt(2/n)·x;  H ← H + xᵀx.
/// xᵀx is a symmetric rank-k product: we compute the upper-triangle tiles with sgemm
/// (split across workers) and mirror them, so H is exactly symmetric.
public final class HessianAccumulator {
    public let cols: Int
    /// H, row-major cols×cols, float32.
    public private(set) var hessian: [Float]
    /// Number of samples (sequences) accumulated: the reference's `nsamples`.
    public private(set) var samples: Int = 0
    /// Number of token rows accumulated (informational).
    public private(set) var tokens: Int = 0

    public init(cols: Int) {
        precondition(cols > 0)
        self.cols = cols
        hessian = [Float](repeating: 0, count: cols * cols)
    }

    /// Adds a batch of input rows x [rows × cols], row-major, belonging to `samples`
    /// calibration sequences (default one sequence per call, like the reference pipelines).
    public func add(_ x: UnsafePointer<Float>, rows: Int, samples batch: Int = 1) {
        precondition(batch > 0, "HessianAccumulator.add: samples must be > 0")
        if rows == 0 { samples += batch; return }
        let n = cols
        // H *= nsamples / (nsamples + tmp): a Python float, applied in float32.
        let decay = Float(Double(samples) / Double(samples + batch))
        samples += batch
        tokens += rows
        let scale = Float((2.0 / Double(samples)).squareRoot())
        var xs = [Float](unsafeUninitializedCapacity: rows * n) { buf, count in
            for i in 0..<(rows * n) { buf[i] = x[i] * scale }
            count = rows * n
        }
        hessian.withUnsafeMutableBufferPointer { hb in
            let h = hb.baseAddress!
            for i in 0..<(n * n) { h[i] *= decay }
            xs.withUnsafeMutableBufferPointer { xb in
                let xp = UnsafePointer(xb.baseAddress!)
                Self.addGram(xp, rows: rows, cols: n, into: h)
            }
        }
        _ = xs.count
    }

    public func add(_ x: [Float], rows: Int, samples batch: Int = 1) {
        precondition(x.count == rows * cols, "HessianAccumulator.add: x is not rows×cols")
        x.withUnsafeBufferPointer { add($0.baseAddress!, rows: rows, samples: batch) }
    }

    /// H += xᵀx over tiles (i ≤ j) of the upper triangle, then mirrors the lower triangle.
    static func addGram(_ x: UnsafePointer<Float>, rows: Int, cols n: Int, into h: UnsafeMutablePointer<Float>) {
        let tile = 128
        let nt = (n + tile - 1) / tile
        var tiles: [(Int, Int)] = []
        for bi in 0..<nt { for bj in bi..<nt { tiles.append((bi, bj)) } }
        let work = rows * n * n
        tiles.withUnsafeBufferPointer { tb in
            parallelFor(tb.count, minPerThread: work < 1 << 20 ? tb.count : 1) { t0, t1 in
                for t in t0..<t1 {
                    let (bi, bj) = tb[t]
                    let i0 = bi * tile, i1 = min(n, i0 + tile)
                    let j0 = bj * tile, j1 = min(n, j0 + tile)
                    // H[i0:i1, j0:j1] += X[:, i0:i1]ᵀ · X[:, j0:j1]
                    BLAS.sgemm(transA: true, transB: false, m: i1 - i0, n: j1 - j0, k: rows,
                               a: x + i0, lda: n, b: x + j0, ldb: n,
                               beta: 1, c: h + i0 * n + j0, ldc: n)
                }
            }
        }
        // The diagonal tiles were computed in full; copy the strict upper triangle down.
        for i in 0..<n { for j in (i + 1)..<max(i + 1, n) { h[j * n + i] = h[i * n + j] } }
    }
}
