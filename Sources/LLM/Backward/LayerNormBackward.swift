import Compute

/// Backward of `layerNorm` (Compute/LayerNorm.swift): with s = (var(x) + eps)^(−1/2),
/// x̂ = (x − mean(x))·s and y = w ⊙ x̂ + b, and ĝ = w ⊙ dy (ĝ = dy without an affine),
///   ∂L/∂w += Σ_rows dy ⊙ x̂,   ∂L/∂b += Σ_rows dy
///   ∂L/∂x  = s · (ĝ − mean(ĝ) − x̂ · mean(ĝ ⊙ x̂))      (the paths through the mean and s)
/// The input gradient is added into `dX` (it joins a residual stream); `dWeight`/`dBias` are
/// nil when the norm has no elementwise affine.
func layerNormBackward(_ x: UnsafePointer<Float>, rows: Int, dim: Int, weight: UnsafePointer<Float>?, eps: Float,
                       outputGradient dY: UnsafePointer<Float>,
                       addingInputGradientTo dX: UnsafeMutablePointer<Float>,
                       addingWeightGradientTo dWeight: UnsafeMutablePointer<Float>?,
                       addingBiasGradientTo dBias: UnsafeMutablePointer<Float>?) {
    let n = Float(dim)
    @inline(__always) func moments(_ xr: UnsafePointer<Float>) -> (mean: Float, inv: Float) {
        var sum: Float = 0
        for i in 0..<dim { sum += xr[i] }
        let mean = sum / n
        var ss: Float = 0
        for i in 0..<dim { let c = xr[i] - mean; ss += c * c }
        return (mean, 1 / (ss / n + eps).squareRoot())
    }
    parallelFor(rows, minPerThread: 16) { r0, r1 in
        for r in r0..<r1 {
            let xr = x + r * dim, gr = dY + r * dim, dr = dX + r * dim
            let (mean, s) = moments(xr)
            var sumG: Float = 0, sumGX: Float = 0
            for i in 0..<dim {
                let g = (weight?[i] ?? 1) * gr[i]
                sumG += g
                sumGX += g * (xr[i] - mean) * s
            }
            let meanG = sumG / n, meanGX = sumGX / n
            for i in 0..<dim {
                let g = (weight?[i] ?? 1) * gr[i]
                dr[i] += s * (g - meanG - (xr[i] - mean) * s * meanGX)
            }
        }
    }
    // The affine's gradients sum over rows; rows × dim is small, so one pass, no reduction tree.
    guard dWeight != nil || dBias != nil else { return }
    for r in 0..<rows {
        let xr = x + r * dim, gr = dY + r * dim
        let (mean, s) = moments(xr)
        if let dWeight { for i in 0..<dim { dWeight[i] += gr[i] * (xr[i] - mean) * s } }
        if let dBias { for i in 0..<dim { dBias[i] += gr[i] } }
    }
}
