/// What the training loss of one sequence is: next-token cross-entropy on its labelled
/// positions, optionally mixed with distillation from a teacher (Hinton et al. 2015,
/// "Distilling the Knowledge in a Neural Network"):
///   L = Σ_r weight · [ (1 − w)·CE_r + w·τ²·KL_r ]  over positions r with labels[r+1] ≠ −100
///   CE_r = logsumexp(z_r) − z_r[labels[r+1]]
///   KL_r = Σ_v p_t(v)·(log p_t(v) − log p_s(v)),  p_t = softmax(t_r/τ), p_s = softmax(z_r/τ)
/// with z the student's logits and t the teacher's. `weight` = 1/N gives the mean over the
/// N targets (Hugging Face's loss); a batch passes 1/(its total targets). The τ² keeps the
/// soft term's gradient on the scale of the hard one.
public struct SequenceObjective {
    public var labels: [Int32]
    public var weight: Float
    public var distillation: Distillation?

    public init(labels: [Int32], weight: Float, distillation: Distillation? = nil) {
        self.labels = labels; self.weight = weight; self.distillation = distillation
    }

    /// The mean next-token cross-entropy of a plain window, scaled by `scale`.
    public static func window(_ tokens: [Int32], scale: Float = 1) -> SequenceObjective {
        SequenceObjective(labels: tokens, weight: scale / Float(max(1, tokens.count - 1)))
    }

    /// The target of position r (what it predicts), nil when left out of the loss.
    @inline(__always) func target(_ r: Int) -> Int? {
        let t = labels[r + 1]
        return t == TrainingExample.ignored ? nil : Int(t)
    }
}

/// The teacher side of `SequenceObjective`: a model with the student's vocabulary, run
/// forward over the same tokens; its logits are formed chunk by chunk beside the student's.
public struct Distillation {
    public let teacher: LanguageModel
    public let temperature: Float
    /// w in (1 − w)·CE + w·τ²·KL.
    public let weight: Float

    public init(teacher: LanguageModel, temperature: Float, weight: Float) {
        self.teacher = teacher; self.temperature = temperature; self.weight = weight
    }
}

/// Sums over one sequence's targets (unweighted), so batches and epochs can be averaged.
public struct ObjectiveSums: Equatable, Sendable {
    public var crossEntropy: Double = 0
    public var kl: Double = 0
    public var targets: Int = 0

    public init() {}

    public static func += (a: inout ObjectiveSums, b: ObjectiveSums) {
        a.crossEntropy += b.crossEntropy; a.kl += b.kl; a.targets += b.targets
    }

    /// The mean loss these sums stand for under `distillation`'s mix (plain CE without one).
    public func meanLoss(distillation: Distillation?) -> Double {
        guard targets > 0 else { return .nan }
        let ce = crossEntropy / Double(targets), kl = kl / Double(targets)
        guard let d = distillation else { return ce }
        let w = Double(d.weight), t = Double(d.temperature)
        return (1 - w) * ce + w * t * t * kl
    }
}
