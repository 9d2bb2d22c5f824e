/// LayerNorm (Ba et al. 2016) as torch.nn.LayerNorm computes it over the last dimension:
/// y = (x − mean(x)) / sqrt(var(x) + eps) · w + b, with the biased variance (mean of squares
/// of the centred values). Rows are independent, so rows are split across workers.
/// `weight`/`bias` nil: no elementwise affine (OPT's `layer_norm_elementwise_affine: false`).
public func layerNorm(_ x: UnsafePointer<Float>, rows: Int, dim: Int, weight: UnsafePointer<Float>?,
                      bias: UnsafePointer<Float>?, eps: Float, into y: UnsafeMutablePointer<Float>) {
    parallelFor(rows, minPerThread: 16) { r0, r1 in
        for r in r0..<r1 {
            let xr = x + r * dim, yr = y + r * dim
            var sum: Float = 0
            for i in 0..<dim { sum += xr[i] }
            let mean = sum / Float(dim)
            var ss: Float = 0
            for i in 0..<dim { let c = xr[i] - mean; ss += c * c }
            let inv = 1 / (ss / Float(dim) + eps).squareRoot()
            for i in 0..<dim {
                var v = (xr[i] - mean) * inv
                if let weight { v *= weight[i] }
                if let bias { v += bias[i] }
                yr[i] = v
            }
        }
    }
}

/// ReLU in place: x ← max(x, 0) (OPT's MLP activation).
public func reluInPlace(_ x: UnsafeMutablePointer<Float>, count: Int) {
    parallelFor(count, minPerThread: 16384) { s, e in
        for i in s..<e where x[i] < 0 { x[i] = 0 }
    }
}
