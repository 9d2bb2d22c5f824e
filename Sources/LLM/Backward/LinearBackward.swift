import Compute

extension Linear {
    /// Backward of `apply` (y = x·Wᵀ + b) for rows of output gradient dY [rows × out] and the
    /// input x [rows × in] that the forward saw:
    ///   dW += dYᵀ·x,  db += Σ_rows dY,  dX = dY·W (or dX += dY·W when `accumulateInput`).
    /// `inputGradient` may be nil when no one needs dX (nothing upstream has parameters).
    func backward(outputGradient dY: UnsafePointer<Float>, input x: UnsafePointer<Float>, rows: Int,
                  inputGradient dX: UnsafeMutablePointer<Float>?, accumulateInput: Bool,
                  into g: inout LinearGradient) {
        let n = outFeatures, m = inFeatures
        g.weight.withUnsafeMutableBufferPointer { gw in
            BLAS.linearWeightGradient(dY, rows: rows, outFeatures: n, input: x, inFeatures: m,
                                      into: gw.baseAddress!)
        }
        if g.bias != nil {
            g.bias!.withUnsafeMutableBufferPointer { gb in
                for r in 0..<rows {
                    let row = dY + r * n
                    for j in 0..<n { gb[j] += row[j] }
                }
            }
        }
        if let dX {
            weight.withUnsafeBufferPointer { w in
                BLAS.linearInputGradient(dY, rows: rows, outFeatures: n, weight: w.baseAddress!, inFeatures: m,
                                         into: dX, accumulate: accumulateInput)
            }
        }
    }
}
