import Foundation

/// SwiGLU (Shazeer 2020) combine step of the Llama MLP, fused in place:
/// gate ← silu(gate) · up, with silu(g) = g / (1 + e^(−g)).
public func swiGLUInPlace(gate: UnsafeMutablePointer<Float>, up: UnsafePointer<Float>, count: Int) {
    parallelFor(count, minPerThread: 16384) { s, e in
        for i in s..<e {
            let g = gate[i]
            gate[i] = g / (1 + expf(-g)) * up[i]
        }
    }
}
