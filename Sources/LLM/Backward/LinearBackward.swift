import Compute

extension Linear {
    /// Backward of `apply` (y = x·Wᵀ + b) for rows of output gradient dY [rows × out] and the
    /// input x [rows × in] that the forward saw:
    ///   dW += dYᵀ·x,  db += Σ_rows dY,  dX = dY·W (or dX += dY·W when `accumulateInput`).
    /// `inputGradient` may be nil when no one needs dX (nothing upstream has parameters).
    func backward(outputGradient dY: UnsafePointer<Float>, input x: UnsafePointer<Float>, rows: Int,
                  inputGradient dX: UnsafeMutablePointer<Float>?, accumulateInput: Bool,
                  into g: LinearGradientPointers) {
        let n = outFeatures, m = inFeatures
        BLAS.linearWeightGradient(dY, rows: rows, outFeatures: n, input: x, inFeatures: m, into: g.weight)
        if let gb = g.bias {
            for r in 0..<rows {
                let row = dY + r * n
                for j in 0..<n { gb[j] += row[j] }
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

extension Linear {
    /// `backward` on whole arrays: returns dX [rows × in] (for the few layers outside the blocks).
    func backward(outputGradient dY: [Float], input x: [Float], into g: LinearGradientPointers) -> [Float] {
        let rows = dY.count / outFeatures
        var dX = [Float](repeating: 0, count: rows * inFeatures)
        dY.withUnsafeBufferPointer { gy in
            x.withUnsafeBufferPointer { xb in
                dX.withUnsafeMutableBufferPointer { gx in
                    backward(outputGradient: gy.baseAddress!, input: xb.baseAddress!, rows: rows,
                             inputGradient: gx.baseAddress!, accumulateInput: false, into: g)
                }
            }
        }
        return dX
    }
}

/// Where a linear layer's gradients go (slices of a `ModelGradients` buffer).
struct LinearGradientPointers {
    let weight: UnsafeMutablePointer<Float>
    let bias: UnsafeMutablePointer<Float>?

    init(weight: UnsafeMutablePointer<Float>, bias: UnsafeMutablePointer<Float>?) {
        self.weight = weight; self.bias = bias
    }

    /// The gradients of module `module` (e.g. "model.layers.0.self_attn.q_proj") of `linear`.
    init(_ module: String, _ linear: Linear, _ gradient: (String) -> UnsafeMutablePointer<Float>) {
        weight = gradient(module + ".weight")
        bias = linear.bias == nil ? nil : gradient(module + ".bias")
    }
}
