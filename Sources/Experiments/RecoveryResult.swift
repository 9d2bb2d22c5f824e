import Evaluation
import Foundation
import LLM

/// What `secateur recover` did: the data, the curves, what was trained and kept, and proof
/// that the pruning survived (zeros before and after in every prunable projection).
public struct RecoveryResult: Codable, Sendable {
    /// Parameters that received gradients (adapters for LoRA).
    public var trainableParameters: Int
    /// Projections trained or adapted (the family's role names).
    public var targets: [String]
    public var data: RecoveryDataMetadata
    public var history: TrainingHistory
    public var steps: Int
    public var tokensSeen: Int
    public var trainSeconds: Double
    public var tokensPerSecond: Double
    /// Zero entries of the projection weights before training and in the kept model; `zerosLost`
    /// counts entries zero before and non-zero after (must be 0: a mask was broken).
    public var zerosBefore: Int
    public var zerosAfter: Int
    public var zerosLost: Int
    /// LoRA: how many weights the masked merge changed.
    public var mergedWeightsChanged: Int?
    /// The checkpoint the run continued from.
    public var resumedFrom: String?
    public var resumedAtStep: Int?
    public var output: String?
    /// LoRA: the PEFT-format adapter directory (`PeftModel.from_pretrained(base, it)`).
    public var adapter: String?
    /// The pruning record the source model came with (its pruning.json), carried forward.
    public var sourcePruning: RunRecord?

    enum CodingKeys: String, CodingKey {
        case trainableParameters = "trainable_parameters", targets, data, history, steps, tokensSeen = "tokens_seen"
        case trainSeconds = "train_seconds", tokensPerSecond = "tokens_per_second", zerosBefore = "zeros_before"
        case zerosAfter = "zeros_after", zerosLost = "zeros_lost", mergedWeightsChanged = "merged_weights_changed"
        case resumedFrom = "resumed_from", resumedAtStep = "resumed_at_step", output, adapter
        case sourcePruning = "source_pruning"
    }

    public init(trainableParameters: Int, targets: [String], data: RecoveryDataMetadata, history: TrainingHistory,
                steps: Int, trainSeconds: Double, zerosBefore: Int, zerosAfter: Int, zerosLost: Int) {
        self.trainableParameters = trainableParameters; self.targets = targets; self.data = data
        self.history = history; self.steps = steps; tokensSeen = history.tokensSeen; self.trainSeconds = trainSeconds
        tokensPerSecond = trainSeconds > 0 ? Double(history.tokensSeen) / trainSeconds : 0
        self.zerosBefore = zerosBefore; self.zerosAfter = zerosAfter; self.zerosLost = zerosLost
    }
}
