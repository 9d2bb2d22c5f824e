import Foundation

/// Measures this machine's sgemm rate on a given shape — the practical ceiling against which
/// a forward pass's achieved GFLOP/s is judged.
public enum GEMMThroughput {
    /// GFLOP/s of C[m×n] = A[m×k]·B[n×k]ᵀ, best of `repeats` after one warm-up.
    public static func measure(m: Int = 2048, n: Int = 1536, k: Int = 576, repeats: Int = 5) -> Double {
        var rng = SeededRNG(seed: 1)
        let a = (0..<(m * k)).map { _ in rng.nextFloat() - 0.5 }
        let b = (0..<(n * k)).map { _ in rng.nextFloat() - 0.5 }
        var c = [Float](repeating: 0, count: m * n)
        var best = Double.infinity
        for i in 0...repeats {
            let t0 = Date()
            BLAS.linear(a, rows: m, inFeatures: k, weight: b, outFeatures: n, into: &c)
            let dt = Date().timeIntervalSince(t0)
            if i > 0 { best = min(best, dt) }
        }
        return 2 * Double(m) * Double(n) * Double(k) / best / 1e9
    }
}
