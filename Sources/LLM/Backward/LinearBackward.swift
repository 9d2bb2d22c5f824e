import Compute

extension Linear {
    /// Backward of `apply` (y = x·Wᵀ + b) for rows of output gradient dY [rows × out] and the
    /// input x [rows × in] that the forward saw:
    ///   dW += dYᵀ·x,  db += Σ_rows dY,  dX = dY·W (or dX += dY·W when `accumulateInput`),
    /// plus the adapter's share when one is attached (`LoRAAdapter.backward`).
    /// `inputGradient` may be nil when no one needs dX (nothing upstream has parameters); a
    /// nil weight or bias gradient means that parameter is frozen (its product is skipped).
    func backward(outputGradient dY: UnsafePointer<Float>, input x: UnsafePointer<Float>, rows: Int,
                  inputGradient dX: UnsafeMutablePointer<Float>?, accumulateInput: Bool,
                  into g: LinearGradientPointers) {
        let n = outFeatures, m = inFeatures
        if let gw = g.weight {
            BLAS.linearWeightGradient(dY, rows: rows, outFeatures: n, input: x, inFeatures: m, into: gw)
        }
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
        adapter?.backward(outputGradient: dY, input: x, rows: rows, inputGradient: dX,
                          aGradient: g.loraA, bGradient: g.loraB)
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

/// Where a linear layer's gradients go (slices of a `ModelGradients` buffer); nil for a
/// parameter that is not being trained.
struct LinearGradientPointers {
    let weight: UnsafeMutablePointer<Float>?
    let bias: UnsafeMutablePointer<Float>?
    var loraA: UnsafeMutablePointer<Float>? = nil
    var loraB: UnsafeMutablePointer<Float>? = nil

    init(weight: UnsafeMutablePointer<Float>?, bias: UnsafeMutablePointer<Float>?) {
        self.weight = weight; self.bias = bias
    }

    /// The gradients of module `module` (e.g. "model.layers.0.self_attn.q_proj") of `linear`.
    init(_ module: String, _ linear: Linear, _ gradient: GradientLookup) {
        weight = gradient(module + ".weight")
        bias = linear.bias == nil ? nil : gradient(module + ".bias")
        if linear.adapter != nil {
            loraA = gradient(module + LoRANames.a)
            loraB = gradient(module + LoRANames.b)
        }
    }
}

/// Finds the gradient buffer of a parameter by name; nil when that parameter is frozen (not
/// in the `ModelGradients` being filled), so its gradient is never computed.
typealias GradientLookup = (String) -> UnsafeMutablePointer<Float>?
