import LLM

/// What survives structured pruning, in indices of the dense model: which decoder layers stay,
/// and within each layer which KV groups (a KV head and its query heads) and MLP channels, plus
/// which hidden channels stay model-wide. Index lists are ascending.
public struct StructuredPlan: Codable, Sendable, Equatable {
    /// Dense layer indices kept, ascending.
    public var keptLayers: [Int]
    /// Per dense layer: KV heads kept.
    public var keptKVGroups: [[Int]]
    /// Per dense layer: MLP channels kept.
    public var keptMLPChannels: [[Int]]
    /// Hidden channels kept; nil keeps all.
    public var keptHiddenChannels: [Int]?

    /// The plan that keeps everything of `layers` layers with these dims.
    public init(kvHeads: [Int], intermediateSizes: [Int]) {
        keptLayers = Array(kvHeads.indices)
        keptKVGroups = kvHeads.map { Array(0..<$0) }
        keptMLPChannels = intermediateSizes.map { Array(0..<$0) }
        keptHiddenChannels = nil
    }

    /// The `count` lowest-scoring indices removed (ties: the lower index goes first), the rest
    /// kept in ascending order.
    public static func keepHighest(_ scores: [Double], removing count: Int) -> [Int] {
        precondition(count >= 0 && count <= scores.count)
        let order = scores.indices.sorted { scores[$0] != scores[$1] ? scores[$0] < scores[$1] : $0 < $1 }
        return order.dropFirst(count).sorted()
    }

    /// Block mode, one layer: keeps the highest-scoring KV groups and MLP channels of layer `i`,
    /// removing as many as `allocation` says (a layer with nothing to remove keeps all).
    mutating func keepHighest(layer i: Int, of model: LanguageModel, by importance: GroupImportance, allocation: BlockAllocation) {
        if allocation.removedKVGroups[i] > 0 {
            keptKVGroups[i] = Self.keepHighest(importance.attentionGroupScores(model, layer: i), removing: allocation.removedKVGroups[i])
        }
        if allocation.removedMLPChannels[i] > 0 {
            keptMLPChannels[i] = Self.keepHighest(importance.mlpChannelScores(model, layer: i), removing: allocation.removedMLPChannels[i])
        }
    }
}
