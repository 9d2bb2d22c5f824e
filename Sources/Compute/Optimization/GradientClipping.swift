/// Clips a gradient vector to a global L2 norm, as torch.nn.utils.clip_grad_norm_: the norm
/// is taken over every entry, and when it exceeds `maxNorm` all entries are scaled by
/// maxNorm / (norm + 1e-6). Returns the norm before clipping (what trainers log).
@discardableResult
public func clipGradientNorm(_ g: UnsafeMutablePointer<Float>, count n: Int, maxNorm: Float?) -> Float {
    var sum: Double = 0
    for j in 0..<n { sum += Double(g[j]) * Double(g[j]) }
    let norm = Float(sum.squareRoot())
    guard let maxNorm else { return norm }
    let coefficient = maxNorm / (norm + 1e-6)
    if coefficient < 1 { for j in 0..<n { g[j] *= coefficient } }
    return norm
}
