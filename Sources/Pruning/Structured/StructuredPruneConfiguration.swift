/// What structured pruning removes.
public enum StructuredMode: String, CaseIterable, Codable, Sendable {
    /// LLM-Pruner's block-wise pruning: attention groups (KV head + its query heads) in the
    /// attention layers and MLP channels in the MLP layers; the residual width stays.
    case block
    /// LLM-Pruner's channel-wise pruning: hidden (residual-stream) channels across the whole model.
    case channel
    /// Whole decoder layers (ShortGPT's layer removal).
    case layer
}

/// What `ratio` means.
public enum RatioMode: String, CaseIterable, Codable, Sendable {
    /// The whole model's parameter count (embeddings included) shrinks by `ratio`, within 0.5 points.
    case model
    /// LLM-Pruner's meaning: every chosen layer loses `ratio` of its channels, computed per tensor
    /// as `n − int(n·(1 − ratio))` (so the model as a whole shrinks by much less).
    case layer
}

/// How whole layers are scored for `--mode layer`.
public enum LayerScore: String, CaseIterable, Codable, Sendable {
    /// ShortGPT's Block Influence, 1 − cos(x_in, x_out) over calibration tokens.
    case blockInfluence = "bi"
    /// Increase of the calibration loss when the layer alone is skipped.
    case loss
}

public struct StructuredPruneConfiguration: Codable, Sendable {
    public var criterion: StructuredCriterion
    public var mode: StructuredMode
    public var ratio: Double
    public var ratioMode: RatioMode
    /// Inclusive layer ranges for block mode (nil: `defaultBlockLayers`); for layer mode,
    /// `attentionLayers` is the set of droppable layers (nil: all).
    public var attentionLayers: ClosedRange<Int>?
    public var mlpLayers: ClosedRange<Int>?
    /// `--taylor param_first`: the default of LLM-Pruner's GQA script (llama3.py); its older
    /// hf_prune.py defaults to param_mix.
    public var taylorOrder: TaylorOrder
    /// LLM-Pruner's default `--grouping_strategy sum` (for l1/l2, its "mean" ranks identically
    /// because every group of one kind has the same number of tensors).
    public var aggregation: GroupAggregation
    public var layerScore: LayerScore
    public var seed: UInt64
    /// Bonsai: sub-models evaluated per round (the reference's `--masks_per_iter` 200) and the
    /// share of the whole model removed per round (its `--prune_frac` 0.05).
    /// L0: gate-learning steps (one calibration window each, cycling), Adam's step size for the
    /// gates' log α, and the Lagrange multipliers' ascent step.
    public var l0Steps: Int = 100
    public var l0LearningRate: Double = 0.1
    public var l0LambdaLearningRate: Double = 0.2
    /// L0 only: prune to this shape (Sheared LLaMA) instead of to `ratio`.
    public var l0TargetShape: L0TargetShape?
    /// L0 only: train LoRA adapters of this rank with the gates (nil: the weights stay frozen),
    /// at this AdamW rate.
    public var l0LoRARank: Int?
    public var l0LoRALearningRate: Double = 1e-3
    /// The gate learner's settings from the L0 fields above.
    var l0Settings: HardConcreteGates.Settings {
        var s = HardConcreteGates.Settings()
        s.steps = l0Steps; s.learningRate = l0LearningRate; s.lambdaLearningRate = l0LambdaLearningRate; s.seed = seed
        s.lora = l0LoRARank.map { HardConcreteGates.AdapterSettings(rank: $0, learningRate: Float(l0LoRALearningRate)) }
        return s
    }
    public var bonsaiMasks: Int = 200
    public var bonsaiRoundFraction: Double = 0.05
    /// Bonsai's rounds: the ratio in steps of at most `bonsaiRoundFraction`.
    public var bonsaiRounds: Int { max(1, Int((ratio / bonsaiRoundFraction - 1e-9).rounded(.up))) }

    public init(criterion: StructuredCriterion, mode: StructuredMode = .block, ratio: Double, ratioMode: RatioMode = .model,
                attentionLayers: ClosedRange<Int>? = nil, mlpLayers: ClosedRange<Int>? = nil,
                taylorOrder: TaylorOrder = .first, aggregation: GroupAggregation = .sum,
                layerScore: LayerScore = .blockInfluence, seed: UInt64 = 0) {
        self.criterion = criterion; self.mode = mode; self.ratio = ratio; self.ratioMode = ratioMode
        self.attentionLayers = attentionLayers; self.mlpLayers = mlpLayers
        self.taylorOrder = taylorOrder; self.aggregation = aggregation; self.layerScore = layerScore; self.seed = seed
    }

    /// LLM-Pruner's recommended block range for the 32-layer Llama-7B, layers 4..<30
    /// (`--block_*_layer_start 4 --block_*_layer_end 30`: the first four and last two layers are
    /// left alone), scaled to `n` layers: round(4n/32) ... round(30n/32) − 1, inclusive.
    /// For SmolLM2-135M's 30 layers: 4-27.
    public static func defaultBlockLayers(layerCount n: Int) -> ClosedRange<Int> {
        let start = Int((Double(4 * n) / 32).rounded()), end = Int((Double(30 * n) / 32).rounded())
        return min(start, n - 1)...max(min(start, n - 1), end - 1)
    }

    public func validate(layerCount n: Int) throws {
        if l0TargetShape != nil {
            guard criterion == .l0 else { throw StructuredPruningError.invalidSetting("a target shape is L0's (method l0), not \(criterion.rawValue)'s") }
        } else {
            guard ratio > 0 && ratio < 1 else { throw StructuredPruningError.invalidSetting("ratio must be in (0, 1), got \(ratio)") }
        }
        if criterion == .bonsai {
            guard mode == .block else {
                throw StructuredPruningError.invalidSetting("bonsai prunes attention groups and MLP channels (block mode), not \(mode.rawValue) mode")
            }
            guard bonsaiMasks >= 2 else { throw StructuredPruningError.invalidSetting("bonsai needs at least 2 sub-models per round, got \(bonsaiMasks)") }
            guard bonsaiRoundFraction > 0 && bonsaiRoundFraction <= 1 else {
                throw StructuredPruningError.invalidSetting("bonsai's share per round must be in (0, 1], got \(bonsaiRoundFraction)")
            }
        }
        if criterion == .l0 {
            guard mode == .block else {
                throw StructuredPruningError.invalidSetting("l0 gates attention groups and MLP channels (block mode), not \(mode.rawValue) mode")
            }
            guard l0Steps >= 1 else { throw StructuredPruningError.invalidSetting("l0 needs at least one step, got \(l0Steps)") }
            guard l0LearningRate > 0, l0LearningRate.isFinite, l0LambdaLearningRate >= 0, l0LambdaLearningRate.isFinite else {
                throw StructuredPruningError.invalidSetting("l0 needs a positive learning rate and a non-negative λ step")
            }
            if let r = l0LoRARank, r < 1 { throw StructuredPruningError.invalidSetting("l0's LoRA rank must be at least 1, got \(r)") }
            guard l0LoRALearningRate > 0, l0LoRALearningRate.isFinite else {
                throw StructuredPruningError.invalidSetting("l0's LoRA learning rate must be positive, got \(l0LoRALearningRate)")
            }
        } else if l0LoRARank != nil {
            throw StructuredPruningError.invalidSetting("LoRA during gate training is L0's (method l0), not \(criterion.rawValue)'s")
        }
        for (name, r) in [("attn_layers", attentionLayers), ("mlp_layers", mlpLayers)] {
            if let r, r.lowerBound < 0 || r.upperBound >= n {
                throw StructuredPruningError.invalidSetting("\(name) \(r.lowerBound)-\(r.upperBound) is outside the model's layers 0-\(n - 1)")
            }
        }
    }
}
