import Compute

/// Element importance scores for post-training pruning (higher = keep).
public enum PruneMethod: String, CaseIterable, Codable, Sendable {
    case magnitude, wanda, sparsegpt, ria, random
    /// Scores from the calibration loss's gradient, taken once on the dense model
    /// (`CalibrationGradients`): |∂L/∂W|, |W·∂L/∂W| and GBLM-Pruner's |W|·(‖X‖₂ + α‖G‖₂).
    case gradient, taylor, gblm
    /// −p·log p of each weight's share p of its column's |W| (no calibration).
    case entropy
    /// DSnoT's prune-and-grow refinement of another method's mask (`DSnoT`).
    case dsnot
    /// (1+1)-ES search over another method's mask at the same sparsity (`EvolutionaryMaskSearch`).
    case es

    /// Whether the method needs calibration windows (activations, gradients or both).
    public var needsCalibration: Bool { needsActivations || needsGradients }

    /// Whether the method reads statistics of each layer's inputs, gathered layer by layer.
    public var needsActivations: Bool { [.wanda, .sparsegpt, .ria, .gblm, .dsnot, .es].contains(self) }

    /// Whether the method needs gradients of the calibration loss (a backward of the whole
    /// model per window, before any layer is pruned).
    public var needsGradients: Bool { [.gradient, .taylor, .gblm].contains(self) }
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

    /// |W_ij| · (‖X_j‖₂ + α·G_ij) — GBLM-Pruner (Das et al. 2023, Eq. 5; VILA-Lab/GBLM-Pruner
    /// `prune_gblm`): Wanda's term plus the weight times its gradient's ℓ2 norm over calibration
    /// windows, G = √(Σ_s g_s²). The reference stores the gradients multiplied by `--scale` 100
    /// before squaring, which is α here.
    public static func gblm(_ w: [Float], rows: Int, cols: Int, scaler: [Float], gradientNorm g: [Float], alpha: Double) -> [Float] {
        let norms = scaler.map { $0.squareRoot() }, a = Float(alpha)
        var s = [Float](repeating: 0, count: w.count)
        for r in 0..<rows {
            for j in 0..<cols {
                let k = r * cols + j
                s[k] = abs(w[k]) * norms[j] + abs(w[k]) * (a * g[k])
            }
        }
        return s
    }

    /// |W ⊙ G| — the first-order Taylor term of the loss change when a weight is zeroed
    /// (LLM-Pruner's element-wise `param_first`, here per weight), G the mean calibration gradient.
    public static func taylor(_ w: [Float], meanGradient g: [Float]) -> [Float] {
        zip(w, g).map { abs($0 * $1) }
    }

    /// Entropy of each column's weight distribution, element-wise: p_ij = |W_ij| / Σ_k |W_kj|
    /// (the share of column j's absolute mass along the output dimension) and score −p·ln p.
    /// The seed's −Σ W·log W is undefined for negative weights (log of a negative number), so
    /// the magnitudes are normalised into a distribution first; a zero weight scores 0. −p·ln p
    /// rises with p up to p = 1/e and falls after: a weight holding more than 37 % of its column
    /// scores lower than a smaller one — with hundreds of rows this never happens in practice,
    /// and the score orders weights as |W| normalised by their column's mass.
    public static func entropy(_ w: [Float], rows: Int, cols: Int) -> [Float] {
        var colSum = [Double](repeating: 0, count: cols)
        for r in 0..<rows { for j in 0..<cols { colSum[j] += Double(abs(w[r * cols + j])) } }
        var s = [Float](repeating: 0, count: w.count)
        for r in 0..<rows {
            for j in 0..<cols where colSum[j] > 0 {
                let p = Double(abs(w[r * cols + j])) / colSum[j]
                if p > 0 { s[r * cols + j] = Float(-p * log(p)) }
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
