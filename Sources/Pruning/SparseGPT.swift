import Compute

/// SparseGPT (Frantar & Alistarh, "SparseGPT: Massive Language Models Can Be Accurately
/// Pruned in One-Shot", ICML 2023): prunes a linear layer W [rows × cols] column by column
/// and compensates every removed weight by an OBS update of the not-yet-processed weights of
/// its row, using the inverse layer Hessian H⁻¹ (H = 2XXᵀ from `HessianAccumulator`).
///
/// Follows the reference `fasterprune` step for step:
///  - dead inputs (H[i,i] = 0): H[i,i] ← 1 and W[:, i] ← 0;
///  - dampening λ = percentDamp · mean(diag H) added to the diagonal;
///  - U = chol(H⁻¹)ᵀ-upper, built as cholesky → cholesky_inverse → cholesky(upper) (sec. 3.2);
///  - columns in blocks of `blockSize` with lazy batch updates (sec. 3.3, Alg. 1):
///      inside a block, for each column i: q = w masked to 0, err = (w − q)/U[i,i],
///      W[:, i:] −= err ⊗ U[i, i:]; after it W[:, i2:] −= Err · U[i1:i2, i2:] (one sgemm);
///  - adaptive mask selection (sec. 3.4): unstructured — per block, the weights with the lowest
///    w²/U[i,i]² over the whole rows×block tile are pruned, threshold = sorted[⌊numel·sparsity⌋]
///    and mask = score ≤ threshold (so ⌊numel·s⌋+1 weights per block absent ties, as the
///    reference); N:M — at each group of m columns, per row the n smallest w²/U[i,i]² of the
///    *current* (already updated) weights (sec. 3.5).
///
/// Rows are independent given the mask, so the in-block sweep and the lazy update run on
/// contiguous row slices across workers (each slice is one sgemm). float32 throughout,
/// like the reference.
public enum SparseGPT {
    public struct Result: Sendable {
        /// true = pruned (weight is now 0), row-major rows×cols.
        public var mask: [Bool]
        /// Σ over pruned weights of (w − q)²/U[i,i]² / 2: the reference's `Losses` summed.
        public var loss: Double
    }

    /// Prunes `weight` [rows × cols] in place and returns the mask (true = pruned).
    /// `sparsity` is used for `.unstructured` (0 < s < 1) and ignored for N:M.
    /// `fixedMask` (optional, rows×cols, true = prune) replaces the adaptive unstructured
    /// selection: SparseGPT then only reconstructs (the `mask=` path used by Wanda/RIA code).
    public static func prune(weight: inout [Float], rows: Int, cols: Int, hessian: [Float],
                             sparsity: Double, pattern: SparsityPattern, blockSize: Int = 128,
                             percentDamp: Double = 0.01, fixedMask: [Bool]? = nil) throws -> [Bool] {
        try pruneDetailed(weight: &weight, rows: rows, cols: cols, hessian: hessian, sparsity: sparsity,
                          pattern: pattern, blockSize: blockSize, percentDamp: percentDamp,
                          fixedMask: fixedMask).mask
    }

    public static func pruneDetailed(weight: inout [Float], rows: Int, cols: Int, hessian: [Float],
                                     sparsity: Double, pattern: SparsityPattern, blockSize: Int = 128,
                                     percentDamp: Double = 0.01, fixedMask: [Bool]? = nil) throws -> Result {
        guard rows > 0, cols > 0, weight.count == rows * cols else {
            throw PruningError.invalidSetting("SparseGPT: weight has \(weight.count) values, expected \(rows)×\(cols)")
        }
        guard hessian.count == cols * cols else {
            throw PruningError.invalidSetting("SparseGPT: Hessian has \(hessian.count) values, expected \(cols)×\(cols)")
        }
        guard blockSize > 0 else { throw PruningError.invalidSetting("SparseGPT: blockSize must be > 0") }
        guard percentDamp >= 0, percentDamp.isFinite else {
            throw PruningError.invalidSetting("SparseGPT: percentDamp must be ≥ 0, got \(percentDamp)")
        }
        var groupN = 0, groupM = 0
        switch pattern {
        case .unstructured:
            if let fm = fixedMask {
                guard fm.count == rows * cols else {
                    throw PruningError.invalidSetting("SparseGPT: fixed mask has \(fm.count) entries, expected \(rows * cols)")
                }
            } else {
                guard sparsity > 0, sparsity < 1 else {
                    throw PruningError.invalidSetting("SparseGPT: unstructured sparsity must be in (0, 1), got \(sparsity)")
                }
            }
        case .nOfM(let n, let m):
            guard n > 0, n < m else { throw PruningError.invalidSetting("SparseGPT: N:M needs 0 < N < M, got \(n):\(m)") }
            guard cols % m == 0 else {
                throw PruningError.invalidSetting("SparseGPT: \(n):\(m) needs the input size (\(cols)) to be a multiple of \(m)")
            }
            guard blockSize % m == 0 else {
                throw PruningError.invalidSetting("SparseGPT: blockSize \(blockSize) must be a multiple of M = \(m)")
            }
            guard fixedMask == nil else {
                throw PruningError.invalidSetting("SparseGPT: a fixed mask is only supported with the unstructured pattern")
            }
            groupN = n; groupM = m
        }
        guard weight.allSatisfy({ $0.isFinite }) else {
            throw PruningError.numerical("SparseGPT: the layer weight has NaN or infinite values; the checkpoint (or an earlier pruning step) is corrupt")
        }

        // Hessian preparation (dead inputs, dampening) and U = upper chol of H⁻¹.
        var h = hessian
        guard h.allSatisfy({ $0.isFinite }) else {
            throw PruningError.numerical("SparseGPT: the calibration Hessian has NaN or infinite entries (activations overflowed); "
                + "run calibration in float32 or check the layer's inputs")
        }
        var dead = [Bool](repeating: false, count: cols)
        for i in 0..<cols where h[i * cols + i] == 0 {
            dead[i] = true
            h[i * cols + i] = 1
            for r in 0..<rows { weight[r * cols + i] = 0 }
        }
        var diagSum: Double = 0
        for i in 0..<cols { diagSum += Double(h[i * cols + i]) }
        let damp = Float(percentDamp) * Float(diagSum / Double(cols))
        for i in 0..<cols { h[i * cols + i] += damp }
        let hinv: [Float]
        do {
            hinv = try Cholesky.upperFactorOfInverse(h, n: cols)
        } catch {
            throw PruningError.numerical("SparseGPT: Cholesky of the dampened Hessian (\(cols)×\(cols), λ = \(damp)) failed: "
                + "\(error). Increase percentDamp (now \(percentDamp)) or use more calibration samples")
        }

        var mask = fixedMask ?? [Bool](repeating: false, count: rows * cols)
        let adaptive = fixedMask == nil && groupM == 0
        var rowLoss = [Double](repeating: 0, count: rows)
        var err = [Float](repeating: 0, count: rows * blockSize)
        var scores = [Float](repeating: 0, count: adaptive ? rows * blockSize : 0)

        weight.withUnsafeMutableBufferPointer { wb in
        mask.withUnsafeMutableBufferPointer { mb in
        hinv.withUnsafeBufferPointer { hb in
        err.withUnsafeMutableBufferPointer { eb in
        rowLoss.withUnsafeMutableBufferPointer { lb in
        scores.withUnsafeMutableBufferPointer { sb in
            let w = wb.baseAddress!, mk = mb.baseAddress!, u = hb.baseAddress!
            let e = eb.baseAddress!, loss = lb.baseAddress!
            var i1 = 0
            while i1 < cols {
                let i2 = min(i1 + blockSize, cols), count = i2 - i1
                if adaptive {
                    // Score W1²/diag(U1)² over the whole rows×count tile; prune ≤ the
                    // ⌊numel·sparsity⌋-th smallest (reference: sort + index, inclusive).
                    let s = sb.baseAddress!
                    for r in 0..<rows {
                        for j in 0..<count {
                            let v = w[r * cols + i1 + j], d = u[(i1 + j) * cols + i1 + j]
                            s[r * count + j] = (v * v) / (d * d)
                        }
                    }
                    let numel = rows * count
                    let k = min(numel - 1, Int(Double(numel) * sparsity))
                    let thresh = kthSmallest(UnsafeMutableBufferPointer(start: s, count: numel), k)
                    for r in 0..<rows {
                        for j in 0..<count {
                            let v = w[r * cols + i1 + j], d = u[(i1 + j) * cols + i1 + j]
                            mk[r * cols + i1 + j] = (v * v) / (d * d) <= thresh
                        }
                    }
                }
                // Row cuts independent of the thread count: the batch update's sgemm rounds by its shape.
                parallelPartitions(rows, minPerPart: 8) { r0, r1 in
                    for r in r0..<r1 {
                        let wr = w + r * cols + i1, mr = mk + r * cols + i1, er = e + r * count
                        var rl: Double = 0
                        for i in 0..<count {
                            if groupM > 0 && i % groupM == 0 {
                                selectGroup(wr + i, u + (i1 + i) * cols + i1 + i, stride: cols + 1,
                                            m: min(groupM, count - i), n: groupN, mask: mr + i)
                            }
                            let wi = wr[i], d = u[(i1 + i) * cols + i1 + i]
                            let q: Float = mr[i] ? 0 : wi
                            let ei = (wi - q) / d
                            er[i] = ei
                            rl += Double((wi - q) * (wi - q) / (d * d))
                            wr[i] = q
                            if ei != 0 {
                                let ur = u + (i1 + i) * cols + i1
                                for j in (i + 1)..<max(i + 1, count) { wr[j] -= ei * ur[j] }
                            }
                        }
                        loss[r] += rl / 2
                    }
                    if i2 < cols {
                        // Lazy batch update of the remaining columns: W[:, i2:] −= Err · U[i1:i2, i2:].
                        BLAS.sgemm(m: r1 - r0, n: cols - i2, k: count, alpha: -1,
                                   a: e + r0 * count, lda: count, b: u + i1 * cols + i2, ldb: cols,
                                   beta: 1, c: w + r0 * cols + i2, ldc: cols)
                    }
                }
                i1 = i2
            }
        }}}}}}
        return Result(mask: mask, loss: rowLoss.reduce(0, +))
    }

    /// Marks, within one group of `m` consecutive weights of a row, the `n` with the smallest
    /// w²/d² (d read with `stride` along U's diagonal); ties go to the lower index.
    @inline(__always)
    static func selectGroup(_ w: UnsafeMutablePointer<Float>, _ d: UnsafePointer<Float>, stride: Int,
                            m: Int, n: Int, mask: UnsafeMutablePointer<Bool>) {
        withUnsafeTemporaryAllocation(of: Float.self, capacity: m) { t in
            for j in 0..<m { let dj = d[j * stride]; t[j] = (w[j] * w[j]) / (dj * dj) }
            for _ in 0..<min(n, m) {
                var best = -1
                for j in 0..<m where !mask[j] {
                    if best < 0 || t[j] < t[best] { best = j }
                }
                mask[best] = true
            }
        }
    }

    /// The k-th smallest value (0-based) of `a`, reordering `a` (Hoare quickselect,
    /// median-of-three pivots). Equals sorted(a)[k].
    static func kthSmallest(_ a: UnsafeMutableBufferPointer<Float>, _ k: Int) -> Float {
        var lo = 0, hi = a.count - 1
        while lo < hi {
            let mid = lo + (hi - lo) / 2
            if a[mid] < a[lo] { a.swapAt(mid, lo) }
            if a[hi] < a[lo] { a.swapAt(hi, lo) }
            if a[hi] < a[mid] { a.swapAt(hi, mid) }
            let pivot = a[mid]
            var i = lo, j = hi
            while i <= j {
                while a[i] < pivot { i += 1 }
                while pivot < a[j] { j -= 1 }
                if i <= j { a.swapAt(i, j); i += 1; j -= 1 }
            }
            if k <= j { hi = j } else if k >= i { lo = i } else { return a[k] }
        }
        return a[k]
    }
}
