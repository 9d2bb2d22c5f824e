import Pruning

/// Every setting of a structured prune run (`secateur prune --structured`).
public struct StructuredPruneSettings: Codable, Sendable, Equatable {
    public var criterion: StructuredCriterion = .taylor
    public var mode: StructuredMode = .block
    /// Share of the model's parameters to remove (ratio mode `layer`: LLM-Pruner's per-layer share).
    public var ratio: Double = 0.2
    public var ratioMode: RatioMode = .model
    /// Block mode: attention / MLP layers to prune (nil: LLM-Pruner's range scaled to the model);
    /// layer mode: the droppable layers (nil: all).
    public var attentionLayers: ClosedRange<Int>?
    /// nil: `attentionLayers`.
    public var mlpLayers: ClosedRange<Int>?
    public var taylorOrder: TaylorOrder = .first
    public var aggregation: GroupAggregation = .sum
    public var layerScore: LayerScore = .blockInfluence
    /// Bonsai: sub-models per round and share of the model removed per round (nil: the
    /// reference's 200 and 0.05).
    public var bonsaiMasks: Int?
    public var bonsaiRoundFraction: Double?
    /// L0: gate-learning steps and Adam's step size (nil: 100 and 0.1).
    public var l0Steps: Int?
    public var l0LearningRate: Double?
    /// L0: prune to this shape (Sheared LLaMA's targeted pruning) instead of to `ratio`.
    public var l0Target: L0TargetShape?
    /// L0: LoRA adapters of this rank trained with the gates, at this AdamW rate (nil: frozen
    /// weights; 1e-3).
    public var l0LoRARank: Int?
    public var l0LoRALearningRate: Double?
    /// Calibration for Taylor gradients and layer scores (LLM-Pruner: 10 × 64).
    public var calibrationWindows = 10
    public var calibrationSeqlen = 64
    public var calibration: CalibrationSource = .dataset(.c4)
    public var seed: UInt64 = 0
    public var evaluation: PruneEvaluationSettings?
    public var output: String?
    public var dataDirectory: String?
    public var threads: Int?
    /// Bytes the run may use; its memory plan above this is refused before any work. nil: what the
    /// machine has less a margin (`MemoryBudget.default`).
    public var memoryBudget: Int?
    /// Blocks streamed from the checkpoint one at a time (block mode), the pruned model written
    /// block by block (needs `output`); nil: the whole model in memory.
    public var stream: Bool?

    public init() {}

    public var configuration: StructuredPruneConfiguration {
        var c = StructuredPruneConfiguration(criterion: criterion, mode: mode, ratio: ratio, ratioMode: ratioMode,
                                             attentionLayers: attentionLayers, mlpLayers: mlpLayers ?? attentionLayers,
                                             taylorOrder: taylorOrder, aggregation: aggregation, layerScore: layerScore, seed: seed)
        if let m = bonsaiMasks { c.bonsaiMasks = m }
        if let f = bonsaiRoundFraction { c.bonsaiRoundFraction = f }
        if let s = l0Steps { c.l0Steps = s }
        if let r = l0LearningRate { c.l0LearningRate = r }
        c.l0TargetShape = l0Target
        c.l0LoRARank = l0LoRARank
        if let r = l0LoRALearningRate { c.l0LoRALearningRate = r }
        return c
    }

    /// Taylor scores need gradients of the calibration loss; layer mode scores layers on it; Bonsai
    /// measures sub-models' perplexity on it; L0 learns its gates on it.
    public var needsCalibration: Bool {
        (criterion == .taylor && mode != .layer) || mode == .layer || criterion == .bonsai || criterion == .l0
    }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case criterion = "method", mode, ratio, ratioMode = "ratio_mode", attentionLayers = "attn_layers", mlpLayers = "mlp_layers"
        case taylorOrder = "taylor", aggregation, layerScore = "layer_score", bonsaiMasks = "bonsai_masks"
        case bonsaiRoundFraction = "bonsai_round", l0Steps = "l0_steps", l0LearningRate = "l0_lr", l0Target = "l0_target"
        case l0LoRARank = "l0_lora_rank", l0LoRALearningRate = "l0_lora_lr"
        case calibrationWindows = "calib_windows", calibrationSeqlen = "calib_seqlen", calibration, seed
        case evaluation = "eval", output, dataDirectory = "data_dir", threads, memoryBudget = "memory_budget", stream
    }
}
