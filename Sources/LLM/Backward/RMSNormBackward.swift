import Compute

/// Backward of `rmsNorm` (Compute/RMSNorm.swift): y_i = w_i · x_i · s with
/// s = (mean_j x_j² + eps)^(−1/2). With ĝ_i = w_i · dy_i,
///   ∂L/∂w_i += Σ_rows dy_i · x_i · s
///   ∂L/∂x_i  = s · ĝ_i − x_i · s³ / n · Σ_j ĝ_j x_j      (the second term is the path through s)
/// The input gradient is added into `dX` (it joins a residual stream); the weight gradient
/// is added into `dWeight`.
func rmsNormBackward(_ x: UnsafePointer<Float>, rows: Int, dim: Int, weight: UnsafePointer<Float>, eps: Float,
                     outputGradient dY: UnsafePointer<Float>,
                     addingInputGradientTo dX: UnsafeMutablePointer<Float>,
                     addingWeightGradientTo dWeight: UnsafeMutablePointer<Float>?) {
    @inline(__always) func inverseRMS(_ xr: UnsafePointer<Float>) -> Float {
        var ss: Float = 0
        for i in 0..<dim { ss += xr[i] * xr[i] }
        return 1 / (ss / Float(dim) + eps).squareRoot()
    }
    parallelFor(rows, minPerThread: 16) { r0, r1 in
        for r in r0..<r1 {
            let xr = x + r * dim, gr = dY + r * dim, dr = dX + r * dim
            let s = inverseRMS(xr)
            var dot: Float = 0
            for i in 0..<dim { dot += weight[i] * gr[i] * xr[i] }
            let c = s * s * s * dot / Float(dim)
            for i in 0..<dim { dr[i] += s * weight[i] * gr[i] - c * xr[i] }
        }
    }
    // The weight gradient sums over rows; rows × dim is small, so one pass, no reduction tree.
    guard let dWeight else { return }      // frozen norm
    for r in 0..<rows {
        let xr = x + r * dim, gr = dY + r * dim
        let s = inverseRMS(xr)
        for i in 0..<dim { dWeight[i] += gr[i] * xr[i] * s }
    }
}
