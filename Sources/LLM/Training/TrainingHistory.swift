/// What a run logged: one entry per optimizer step and one per validation.
public struct TrainingHistory: Codable, Equatable, Sendable {
    public struct Step: Codable, Equatable, Sendable {
        public var step: Int              // 1-based: the step just taken
        public var loss: Double           // mean objective over the step's targets
        public var learningRate: Float
        public var gradientNorm: Float    // before clipping
        public var tokensSeen: Int        // training tokens up to and including this step

        enum CodingKeys: String, CodingKey {
            case step, loss, learningRate = "lr", gradientNorm = "grad_norm", tokensSeen = "tokens_seen"
        }
    }

    public struct Validation: Codable, Equatable, Sendable {
        public var step: Int              // after this many steps (0: before training)
        public var loss: Double           // mean next-token cross-entropy on the held-out windows
    }

    public var steps: [Step] = []
    public var validations: [Validation] = []
    /// The step whose parameters the run kept (best validation loss; the last step without one).
    public var bestStep: Int = 0
    public var bestValidationLoss: Double?
    /// Whether patience ran out before the planned steps.
    public var stoppedEarly = false

    public init() {}

    enum CodingKeys: String, CodingKey {
        case steps, validations, bestStep = "best_step", bestValidationLoss = "best_validation_loss"
        case stoppedEarly = "stopped_early"
    }

    public var tokensSeen: Int { steps.last?.tokensSeen ?? 0 }
}

/// One line of progress (stderr): where the run is and how fast it goes.
public struct TrainingProgress: Sendable {
    public var step: Int
    public var totalSteps: Int
    public var loss: Double
    public var learningRate: Float
    public var validationLoss: Double?
    public var tokensPerSecond: Double
    public var secondsLeft: Double
}
