import Compute
import Foundation
import LLM

/// L0 structured pruning with Hard Concrete gates (Louizos, Welling, Kingma 2018, "Learning
/// Sparse Neural Networks through L0 Regularization"), with the Lagrangian sparsity control of
/// CoFi (Xia, Zhong, Chen 2022, "Structured Pruning Learns Compact and Accurate Models"; code:
/// princeton-nlp/CoFiPruning `l0_module.py`) that Sheared LLaMA also uses. Each prunable unit
/// — a KV group of a layer's attention, a channel of its MLP — gets a gate z ∈ [0, 1] that
/// multiplies what the unit writes (its query heads' columns of o, its column of down). The
/// model's weights stay frozen; only the gates' logits log α are learned, on the calibration
/// windows, against the next-token loss plus the sparsity constraint.
///
/// A gate (Louizos et al. Eq. 9–10; CoFi's `_sample_z`, β = 2/3, γ = −0.1, ζ = 1.1):
///     u ~ U(0, 1),  s = σ((log u − log(1 − u) + log α) / β),  z = min(1, max(0, s·(ζ − γ) + γ))
///     ∂z/∂log α = (ζ − γ)·s(1 − s)/β where 0 < z < 1, else 0
/// and its probability of being non-zero (Eq. 12, CoFi's `cdf_qz(0)` complement):
///     P(z ≠ 0) = σ(log α − β·log(−γ/ζ))
/// The loss's derivative by a gate comes from the weight gradient of the gated matrix: with
/// W = z·W₀ over the unit's columns, ∂L/∂z = Σ W₀ ⊙ ∂L/∂W over those columns.
///
/// The constraint, per module m (one layer's attention or MLP) that must lose a share t_m of
/// its units (from `BlockBudget`, as every block-mode criterion): ŝ_m = 1 − mean_j P(z_j ≠ 0),
///     L = L_task + Σ_m λ₁ₘ(ŝ_m − t_m) + λ₂ₘ(ŝ_m − t_m)²
/// minimized in log α (Adam) and maximized in λ (gradient ascent), t_m warmed up linearly over
/// the first quarter of the steps (CoFi's `lagrangian_warmup`). After the last step every
/// module keeps its units with the largest log α, the count the allocation gives.
/// Departures from CoFi, stated: the weights are not trained with the gates (post-training
/// pruning on a CPU; recover the pruned model with `recover` afterwards); the allocation is the
/// block budget's exact per-layer counts rather than a learned one, so that the whole-model
/// ratio is met exactly and L0 compares with the other block-mode criteria at equal shapes;
/// λ ascends by plain gradient steps. Starting every gate at its module's target drop rate
/// instead (no warm-up) was tried on SmolLM2-135M at 30 %: WikiText-2 301.4 against 129.5 with
/// CoFi's start — sub-networks of the final size from the first step give gradients too noisy
/// to rank units (first calibration loss 11.1 against 6.0).
public enum HardConcreteGates {
    static let beta = 2.0 / 3.0, gamma = -0.1, zeta = 1.1

    /// What an L0 run did, for the report.
    public struct Summary: Codable, Sendable, Equatable {
        public var steps: Int
        /// Calibration loss (task part) of the first and last steps.
        public var firstLoss: Double
        public var lastLoss: Double
        /// Mean |ŝ_m − t_m| over the modules at the last step (how close the gates came to the budget).
        public var constraintGap: Double

        enum CodingKeys: String, CodingKey {
            case steps, firstLoss = "first_loss", lastLoss = "last_loss", constraintGap = "constraint_gap"
        }
    }

    public struct Settings: Sendable, Equatable {
        public var steps = 100
        /// Adam's step size for log α.
        public var learningRate = 0.1
        /// Gradient-ascent step size for the Lagrange multipliers (1.0 made ŝ oscillate around
        /// the target on the tiny test model, 0.2 settles within 0.03 in 120 steps).
        public var lambdaLearningRate = 0.2
        /// Initial drop probability of every gate (CoFi's `droprate_init`, 0.5).
        public var initialDropRate = 0.5
        public var seed: UInt64 = 0
        public init() {}
    }

    /// z from uniform noise u and log α, with ∂z/∂log α.
    static func sample(logAlpha: Double, u: Double) -> (z: Double, dz: Double) {
        let s = 1 / (1 + exp(-(log(u) - log(1 - u) + logAlpha) / beta))
        let stretched = s * (zeta - gamma) + gamma
        if stretched <= 0 { return (0, 0) }
        if stretched >= 1 { return (1, 0) }
        return (stretched, (zeta - gamma) * s * (1 - s) / beta)
    }

    /// P(z ≠ 0) and its derivative by log α.
    static func keepProbability(logAlpha: Double) -> (p: Double, dp: Double) {
        let p = 1 / (1 + exp(-(logAlpha - beta * log(-gamma / zeta))))
        return (p, p * (1 - p))
    }

    /// One module's gates.
    struct Module {
        var layer: Int
        var attention: Bool
        var units: Int
        var removing: Int
        var logAlpha: [Double]
        var lambda1 = 0.0, lambda2 = 0.0
        var adamM: [Double], adamV: [Double]
    }

    /// The unit scores (log α) of every module that loses units, learned on `windows`; empty
    /// lists for modules that keep all theirs. `model` is left as it was.
    public static func scores(_ model: LanguageModel, allocation: BlockAllocation, windows: [[Int32]], settings: Settings,
                              progress: ((_ done: Int, _ total: Int) -> Void)? = nil)
        throws -> (attention: [[Double]], mlp: [[Double]], summary: Summary) {
        let s = settings
        guard !windows.isEmpty else { throw StructuredPruningError.invalidSetting("L0 gates need calibration windows") }
        guard s.steps >= 1 else { throw StructuredPruningError.invalidSetting("L0 gates need at least one step, got \(s.steps)") }
        guard s.learningRate > 0, s.lambdaLearningRate >= 0, s.initialDropRate > 0, s.initialDropRate < 1 else {
            throw StructuredPruningError.invalidSetting("L0 gates need a positive learning rate and an initial drop rate in (0, 1)")
        }
        var rng = SeededRNG(seed: s.seed ^ 0x10_6A7E)
        let initial = log(1 - s.initialDropRate) - log(s.initialDropRate)
        var modules: [Module] = []
        for i in 0..<model.layerCount {
            let shape = model.blockShape(i)
            for (attention, units, removing) in [(true, shape.kvHeads, allocation.removedKVGroups[i]),
                                                 (false, shape.intermediateSize, allocation.removedMLPChannels[i])] where removing > 0 {
                guard removing < units else {
                    throw StructuredPruningError.invalidSetting("layer \(i) would lose all \(units) of its \(attention ? "KV groups" : "MLP channels")")
                }
                // CoFi initializes log α at the drop rate's logit with N(0, 0.01) noise.
                let la = (0..<units).map { _ in initial + 0.01 * Double(rng.nextGaussian()) }
                modules.append(Module(layer: i, attention: attention, units: units, removing: removing, logAlpha: la,
                                      adamM: [Double](repeating: 0, count: units), adamV: [Double](repeating: 0, count: units)))
            }
        }
        var attention = [[Double]](repeating: [], count: model.layerCount), mlp = attention
        var summary = Summary(steps: s.steps, firstLoss: .nan, lastLoss: .nan, constraintGap: 0)
        guard !modules.isEmpty else { return (attention, mlp, summary) }

        // The gated matrices' frozen weights, and a gradient buffer for them alone.
        let originals = modules.map { model.linear($0.attention ? .o : .down, layer: $0.layer) }
        defer { for (m, l) in zip(modules, originals) { model.setLinear(l, m.attention ? .o : .down, layer: m.layer) } }
        let names = modules.map { model.moduleName($0.attention ? .o : .down, layer: $0.layer) + ".weight" }
        let tensors = model.parameters.filter { names.contains($0.name) }
        var gradients = ModelGradients(tensors: tensors, partial: true)

        let warmup = max(1, s.steps / 4)
        let adamBeta1 = 0.9, adamBeta2 = 0.999, adamEps = 1e-8
        for step in 0..<s.steps {
            // Sample the gates and write the gated matrices.
            var gates: [[(z: Double, dz: Double)]] = []
            for (k, m) in modules.enumerated() {
                let g = m.logAlpha.map { la in sample(logAlpha: la, u: min(max(Double(rng.next() >> 11) * 0x1p-53, 1e-6), 1 - 1e-6)) }
                gates.append(g)
                model.setLinear(scaledColumns(originals[k], gates: g.map(\.z), model: model, module: m), m.attention ? .o : .down, layer: m.layer)
            }
            gradients.setZero()
            let window = windows[step % windows.count]
            let loss = try model.accumulateGradients(tokens: window, into: &gradients, scale: 1)
            guard loss.isFinite else {
                throw PruningError.numerical("L0 step \(step + 1): the calibration loss is not finite (\(loss))")
            }
            if step == 0 { summary.firstLoss = Double(loss) }
            summary.lastLoss = Double(loss)
            let target = min(1, Double(step + 1) / Double(warmup))
            var gap = 0.0
            for k in modules.indices {
                let m = modules[k]
                let dLdz = try gateGradients(gradients[names[k]], original: originals[k], model: model, module: m)
                // Expected removed share and the Lagrangian's pull on it.
                let keep = m.logAlpha.map(keepProbability)
                let expected = 1 - keep.reduce(0) { $0 + $1.p } / Double(m.units)
                let t = target * Double(m.removing) / Double(m.units)
                let d = expected - t
                gap += abs(d)
                let pull = m.lambda1 + 2 * m.lambda2 * d       // ∂penalty/∂ŝ
                var mod = m
                let b1 = 1 - pow(adamBeta1, Double(step + 1)), b2 = 1 - pow(adamBeta2, Double(step + 1))
                for j in 0..<m.units {
                    let g = dLdz[j] * gates[k][j].dz + pull * (-keep[j].dp / Double(m.units))
                    mod.adamM[j] = adamBeta1 * mod.adamM[j] + (1 - adamBeta1) * g
                    mod.adamV[j] = adamBeta2 * mod.adamV[j] + (1 - adamBeta2) * g * g
                    mod.logAlpha[j] -= s.learningRate * (mod.adamM[j] / b1) / ((mod.adamV[j] / b2).squareRoot() + adamEps)
                }
                // Ascent on λ: ∂L/∂λ₁ = ŝ − t, ∂L/∂λ₂ = (ŝ − t)².
                mod.lambda1 += s.lambdaLearningRate * d
                mod.lambda2 += s.lambdaLearningRate * d * d
                modules[k] = mod
            }
            summary.constraintGap = gap / Double(modules.count)
            progress?(step + 1, s.steps)
        }
        for m in modules {
            if m.attention { attention[m.layer] = m.logAlpha } else { mlp[m.layer] = m.logAlpha }
        }
        return (attention, mlp, summary)
    }

    /// The columns each unit of a module writes through (o: its query heads' head-dim columns;
    /// down: its channel).
    static func columns(of unit: Int, model: LanguageModel, module m: Module) -> Range<Int> {
        guard m.attention else { return unit..<(unit + 1) }
        let s = model.blockShape(m.layer), width = s.heads / s.kvHeads * s.headDim
        return (unit * width)..<((unit + 1) * width)
    }

    /// The matrix with each unit's columns multiplied by its gate.
    static func scaledColumns(_ linear: Linear, gates: [Double], model: LanguageModel, module m: Module) -> Linear {
        var l = linear
        let cols = l.inFeatures
        l.weight.withUnsafeMutableBufferPointer { w in
            for (unit, z) in gates.enumerated() where z != 1 {
                let zf = Float(z)
                for c in columns(of: unit, model: model, module: m) {
                    for r in 0..<l.outFeatures { w[r * cols + c] *= zf }
                }
            }
        }
        return l
    }

    /// ∂L/∂z_j = Σ W₀ ⊙ ∂L/∂W over unit j's columns.
    static func gateGradients(_ g: [Float], original: Linear, model: LanguageModel, module m: Module) throws -> [Double] {
        let cols = original.inFeatures
        guard g.count == original.weight.count else {
            throw PruningError.numerical("L0: the gradient of layer \(m.layer)'s \(m.attention ? "o_proj" : "down_proj") has \(g.count) values for \(original.weight.count) weights")
        }
        var out = [Double](repeating: 0, count: m.units)
        for unit in 0..<m.units {
            var s = 0.0
            for c in columns(of: unit, model: model, module: m) {
                for r in 0..<original.outFeatures { s += Double(original.weight[r * cols + c]) * Double(g[r * cols + c]) }
            }
            guard s.isFinite else {
                throw PruningError.numerical("L0: the gradient of layer \(m.layer)'s \(m.attention ? "attention group" : "MLP channel") \(unit) is not finite")
            }
            out[unit] = s
        }
        return out
    }
}
