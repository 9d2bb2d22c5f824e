import Compute

/// Backward of `reluInPlace` given its output a = max(u, 0): ∂L/∂u = ∂L/∂a where a > 0, else 0
/// (torch's convention at u = 0). In place on the gradient.
func reluBackward(output a: UnsafePointer<Float>, gradient: UnsafeMutablePointer<Float>, count: Int) {
    parallelFor(count, minPerThread: 16384) { s, e in
        for i in s..<e where a[i] <= 0 { gradient[i] = 0 }
    }
}
