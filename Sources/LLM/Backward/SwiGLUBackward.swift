import Compute

/// Backward of `swiGLUInPlace` (Compute/SwiGLU.swift): a = silu(g)·u with silu(g) = g·σ(g).
///   ∂L/∂u = ∂L/∂a · silu(g)
///   ∂L/∂g = ∂L/∂a · u · σ(g)·(1 + g·(1 − σ(g)))      (d silu/dg)
/// `gradient` holds ∂L/∂a on entry and ∂L/∂g on return; ∂L/∂u is written to `upGradient`.
/// σ uses the same `fastExp` as the forward, so forward and backward see one function.
func swiGLUBackward(gate g: UnsafePointer<Float>, up u: UnsafePointer<Float>,
                    gradient: UnsafeMutablePointer<Float>, upGradient: UnsafeMutablePointer<Float>, count: Int) {
    parallelFor(count, minPerThread: 16384) { s, e in
        let one = SIMD8<Float>(repeating: 1)
        var i = s
        while i + 8 <= e {
            let gv = UnsafeRawPointer(g + i).loadUnaligned(as: SIMD8<Float>.self)
            let uv = UnsafeRawPointer(u + i).loadUnaligned(as: SIMD8<Float>.self)
            let dv = UnsafeRawPointer(gradient + i).loadUnaligned(as: SIMD8<Float>.self)
            let sig = one / (one + fastExp(-gv))
            let silu = gv * sig
            UnsafeMutableRawPointer(upGradient + i).storeBytes(of: dv * silu, as: SIMD8<Float>.self)
            let dg = dv * uv * sig * (one + gv * (one - sig))
            UnsafeMutableRawPointer(gradient + i).storeBytes(of: dg, as: SIMD8<Float>.self)
            i += 8
        }
        while i < e {
            let sig = 1 / (1 + fastExp(-g[i]))
            upGradient[i] = gradient[i] * g[i] * sig
            gradient[i] = gradient[i] * u[i] * sig * (1 + g[i] * (1 - sig))
            i += 1
        }
    }
}
