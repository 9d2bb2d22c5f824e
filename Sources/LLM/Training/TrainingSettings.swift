import Compute

/// How a fine-tuning run steps: optimizer, schedule, clipping, batch, length, seed, and when
/// it validates and checkpoints. Saved in every checkpoint; a resume must match it.
public struct TrainingSettings: Codable, Equatable, Sendable {
    public var optimizer: AdamWSettings
    public var schedule: LearningRateSchedule = .linear
    public var warmupSteps: Int = 0
    /// Global-norm clipping threshold (nil: none).
    public var maxGradientNorm: Float? = 1
    /// Sequences in one micro-batch, and micro-batches summed into one optimizer step; the
    /// step's loss is the mean over all targets of its batchSize × accumulation sequences.
    public var batchSize: Int = 1
    public var gradientAccumulation: Int = 1
    /// Optimizer steps of the whole run.
    public var steps: Int
    /// Fixes the order of examples in every epoch and the LoRA dropout masks.
    public var seed: UInt64 = 0
    /// Visit the examples in a seeded order per epoch (true), or as given.
    public var shuffle = true
    /// Validate every this many steps (nil: only at the start and the end).
    public var evaluateEvery: Int?
    /// Stop after this many validations in a row without improvement (nil: never).
    public var patience: Int?
    /// Checkpoint every this many steps (nil: never).
    public var checkpointEvery: Int?

    public init(optimizer: AdamWSettings, steps: Int) {
        self.optimizer = optimizer; self.steps = steps
    }

    /// Sequences per optimizer step.
    public var sequencesPerStep: Int { batchSize * gradientAccumulation }

    /// Optimizer steps that `epochs` passes over `examples` sequences take (the last,
    /// partial batch of an epoch is dropped).
    public static func steps(epochs: Int, examples: Int, sequencesPerStep: Int) -> Int {
        epochs * (examples / max(1, sequencesPerStep))
    }

    public func validate() throws {
        func bad(_ what: String) -> TrainingError { .invalidSetting(what) }
        guard optimizer.learningRate.isFinite, optimizer.learningRate > 0 else { throw bad("the learning rate must be positive (got \(optimizer.learningRate))") }
        guard optimizer.weightDecay.isFinite, optimizer.weightDecay >= 0 else { throw bad("weight decay must be ≥ 0 (got \(optimizer.weightDecay))") }
        guard steps >= 1 else { throw bad("a run needs at least one optimizer step (got \(steps))") }
        guard batchSize >= 1 else { throw bad("the batch size must be ≥ 1 (got \(batchSize))") }
        guard gradientAccumulation >= 1 else { throw bad("gradient accumulation must be ≥ 1 (got \(gradientAccumulation))") }
        guard warmupSteps >= 0 else { throw bad("warm-up steps must be ≥ 0 (got \(warmupSteps))") }
        if let c = maxGradientNorm { guard c.isFinite, c > 0 else { throw bad("the clipping norm must be positive (got \(c))") } }
        if let e = evaluateEvery { guard e >= 1 else { throw bad("validation interval must be ≥ 1 step (got \(e))") } }
        if let p = patience { guard p >= 1 else { throw bad("patience must be ≥ 1 validation (got \(p))") } }
        if let c = checkpointEvery { guard c >= 1 else { throw bad("checkpoint interval must be ≥ 1 step (got \(c))") } }
    }
}

public enum TrainingError: Error, CustomStringConvertible, Equatable {
    case invalidSetting(String)
    case noTrainingData
    case tooFewExamples(have: Int, perStep: Int)
    case noTargets
    case teacherVocabulary(student: Int, teacher: Int)
    case nonFiniteLoss(step: Int)
    case checkpoint(path: String, reason: String)

    public var description: String {
        switch self {
        case .invalidSetting(let s): return s
        case .noTrainingData: return "no training sequences"
        case .tooFewExamples(let n, let k): return "\(n) training sequences cannot fill one step of \(k)"
        case .noTargets: return "no trainable parameters were selected"
        case .teacherVocabulary(let s, let t):
            return "the teacher's vocabulary has \(t) tokens, the student's \(s): distillation needs the same vocabulary"
        case .nonFiniteLoss(let step): return "the loss became NaN or infinite at step \(step); lower the learning rate"
        case .checkpoint(let p, let r): return "checkpoint \(p): \(r)"
        }
    }
}
