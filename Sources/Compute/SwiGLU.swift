/// SwiGLU (Shazeer 2020) combine step of the Llama MLP, fused in place:
/// gate ← silu(gate) · up, with silu(g) = g / (1 + e^(−g)); eight lanes at a time.
public func swiGLUInPlace(gate: UnsafeMutablePointer<Float>, up: UnsafePointer<Float>, count: Int) {
    parallelFor(count, minPerThread: 16384) { s, e in
        let one = SIMD8<Float>(repeating: 1)
        var i = s
        while i + 8 <= e {
            let g = loadVector(gate + i)
            storeVector(g / (one + fastExp(-g)) * loadVector(up + i), gate + i)
            i += 8
        }
        while i < e {
            let g = gate[i]
            gate[i] = g / (1 + fastExp(-g)) * up[i]
            i += 1
        }
    }
}
