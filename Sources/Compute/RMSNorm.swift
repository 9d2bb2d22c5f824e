/// RMSNorm (Zhang & Sennrich 2019) as Llama uses it: y = x / sqrt(mean(x²) + eps) · w.
/// Rows are independent, so rows are split across workers.
public func rmsNorm(_ x: UnsafePointer<Float>, rows: Int, dim: Int, weight: UnsafePointer<Float>,
                    eps: Float, into y: UnsafeMutablePointer<Float>) {
    parallelFor(rows, minPerThread: 16) { r0, r1 in
        for r in r0..<r1 {
            let xr = x + r * dim, yr = y + r * dim
            var ss: Float = 0
            for i in 0..<dim { ss += xr[i] * xr[i] }
            let inv = 1 / (ss / Float(dim) + eps).squareRoot()
            for i in 0..<dim { yr[i] = weight[i] * (xr[i] * inv) }
        }
    }
}
