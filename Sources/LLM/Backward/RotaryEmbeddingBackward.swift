import Foundation
import Compute

/// cos/sin of every rotary angle for positions 0..<rows, computed with exactly the float32
/// arithmetic of `RotaryEmbedding`'s own table (angle = Float(p) · inverseFrequency), built
/// once per backward pass and shared by all layers.
struct RotaryAngles {
    let half: Int
    let cos: [Float]
    let sin: [Float]

    init(_ rope: RotaryEmbedding, rows: Int) {
        half = rope.headDim / 2
        var c = [Float](repeating: 0, count: rows * half), s = c
        for p in 0..<rows {
            for i in 0..<half {
                let angle = Float(p) * rope.inverseFrequencies[i]
                c[p * half + i] = cosf(angle)
                s[p * half + i] = sinf(angle)
            }
        }
        cos = c; sin = s
    }
}

extension RotaryEmbedding {
    /// Backward of `apply` (rotate-half convention, positions 0..<rows): each pair
    /// (v_i, v_{i+d/2}) was rotated by the angle θ, a linear orthogonal map R(θ), so the
    /// gradient flows back through its transpose R(θ)ᵀ = R(−θ):
    ///   g_a ← g_a·cos + g_b·sin,   g_b ← g_b·cos − g_a·sin     (in place on the gradient)
    func applyTransposed(_ g: UnsafeMutablePointer<Float>, rows: Int, heads: Int, rowStride: Int,
                         angles: RotaryAngles) {
        let half = headDim / 2, hd = headDim
        angles.cos.withUnsafeBufferPointer { cb in
            angles.sin.withUnsafeBufferPointer { sb in
                let cbase = cb.baseAddress!, sbase = sb.baseAddress!
                parallelFor(rows, minPerThread: 32) { r0, r1 in
                    for r in r0..<r1 {
                        let cr = cbase + r * half, sr = sbase + r * half
                        for h in 0..<heads {
                            let v = g + r * rowStride + h * hd
                            for i in 0..<half {
                                let a = v[i], b = v[i + half]
                                v[i] = a * cr[i] + b * sr[i]
                                v[i + half] = b * cr[i] - a * sr[i]
                            }
                        }
                    }
                }
            }
        }
    }
}
