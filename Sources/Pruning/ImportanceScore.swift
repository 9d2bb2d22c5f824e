import Compute

/// Element importance scores for post-training pruning (higher = keep).
public enum PruneMethod: String, CaseIterable, Codable, Sendable {
    case magnitude, wanda, sparsegpt, ria, random

    /// Whether the method needs calibration activations.
    public var needsCalibration: Bool { self == .wanda || self == .sparsegpt || self == .ria }
}

public enum ImportanceScore {
    /// |W| — magnitude pruning (Han et al. 2015).
    public static func magnitude(_ w: [Float]) -> [Float] { w.map { abs($0) } }

    /// |W_ij| · ‖X_j‖₂ — Wanda (Sun et al. 2024, Eq. 1); `scaler` = ‖X_j‖²/n per input column.
    public static func wanda(_ w: [Float], rows: Int, cols: Int, scaler: [Float]) -> [Float] {
        let norms = scaler.map { $0.squareRoot() }
        var s = [Float](repeating: 0, count: w.count)
        for r in 0..<rows { for j in 0..<cols { s[r * cols + j] = abs(w[r * cols + j]) * norms[j] } }
        return s
    }

    /// RIA (Zhang et al. 2024, Eq. 3): relative importance |W_ij|/Σ_k|W_kj| + |W_ij|/Σ_k|W_ik|
    /// (column and row sums), times the activation norm ‖X_j‖₂ raised to `alpha`.
    public static func ria(_ w: [Float], rows: Int, cols: Int, scaler: [Float], alpha: Double) -> [Float] {
        var colSum = [Float](repeating: 0, count: cols), rowSum = [Float](repeating: 0, count: rows)
        for r in 0..<rows { for j in 0..<cols { let a = abs(w[r * cols + j]); colSum[j] += a; rowSum[r] += a } }
        let act = scaler.map { Float(pow(Double($0.squareRoot()), alpha)) }
        var s = [Float](repeating: 0, count: w.count)
        for r in 0..<rows {
            for j in 0..<cols {
                let a = abs(w[r * cols + j])
                let rel = (colSum[j] > 0 ? a / colSum[j] : 0) + (rowSum[r] > 0 ? a / rowSum[r] : 0)
                s[r * cols + j] = rel * act[j]
            }
        }
        return s
    }

    /// Uniform random scores from a seeded generator (the random-pruning baseline).
    public static func random(count: Int, seed: UInt64) -> [Float] {
        var rng = SeededRNG(seed: seed)
        return (0..<count).map { _ in rng.nextFloat() }
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
