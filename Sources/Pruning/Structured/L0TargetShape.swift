import Foundation
import LLM

/// The shape L0 prunes a model to, as Sheared LLaMA's targeted structured pruning (Xia et al.
/// 2024, §2.1) names it: the number of layers, the residual width, and every layer's KV groups
/// and MLP width. A dimension left nil keeps the model's own. Written `layers=24,hidden=512,
/// kv_heads=2,intermediate=1024` on the command line and in studies.
public struct L0TargetShape: Codable, Sendable, Equatable, CustomStringConvertible {
    public var layers: Int?
    public var hiddenSize: Int?
    /// KV groups per layer (each keeps its query heads, so the GQA ratio stays).
    public var kvHeads: Int?
    public var intermediateSize: Int?

    public init(layers: Int? = nil, hiddenSize: Int? = nil, kvHeads: Int? = nil, intermediateSize: Int? = nil) {
        self.layers = layers; self.hiddenSize = hiddenSize; self.kvHeads = kvHeads; self.intermediateSize = intermediateSize
    }

    static let keys = ["layers", "hidden", "kv_heads", "intermediate"]

    /// Parses `key=value` pairs separated by commas (keys: layers, hidden, kv_heads, intermediate).
    public init(parsing text: String) throws {
        self.init()
        for pair in text.split(separator: ",", omittingEmptySubsequences: false) {
            let parts = pair.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard parts.count == 2, let value = Int(parts[1]) else {
                throw StructuredPruningError.invalidSetting("target shape '\(text)': expected key=count pairs separated by commas (keys: \(Self.keys.joined(separator: ", ")))")
            }
            guard value >= 1 else { throw StructuredPruningError.invalidSetting("target shape '\(text)': \(parts[0]) must be at least 1") }
            switch parts[0] {
            case "layers": layers = value
            case "hidden": hiddenSize = value
            case "kv_heads": kvHeads = value
            case "intermediate": intermediateSize = value
            default:
                throw StructuredPruningError.invalidSetting("target shape '\(text)': unknown key '\(parts[0])' (keys: \(Self.keys.joined(separator: ", ")))")
            }
        }
    }

    /// Written as its command-line form.
    public init(from decoder: Decoder) throws {
        try self.init(parsing: try decoder.singleValueContainer().decode(String.self))
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(description)
    }

    public var description: String {
        zip(Self.keys, [layers, hiddenSize, kvHeads, intermediateSize]).compactMap { k, v in v.map { "\(k)=\($0)" } }
            .joined(separator: ",")
    }

    /// How many units of each kind `model` must lose to reach the shape; refuses a shape the
    /// model cannot reach (a dimension larger than the model's) or one that removes nothing.
    public func removals(from model: LanguageModel) throws -> GateRemovals {
        let n = model.layerCount
        func check(_ target: Int?, _ have: Int, _ what: String) throws -> Int {
            guard let target else { return 0 }
            guard target <= have else {
                throw StructuredPruningError.invalidSetting("target shape \(self): \(what) \(target) exceeds the model's \(have)")
            }
            return have - target
        }
        let r = GateRemovals(
            kvGroups: try (0..<n).map { try check(kvHeads, model.blockShape($0).kvHeads, "layer \($0)'s KV heads") },
            mlpChannels: try (0..<n).map { try check(intermediateSize, model.blockShape($0).intermediateSize, "layer \($0)'s intermediate size") },
            hiddenChannels: try check(hiddenSize, model.hiddenSize, "hidden size"),
            layers: try check(layers, n, "layer count"))
        guard r.total > 0 else { throw StructuredPruningError.invalidSetting("target shape \(self) removes nothing from this model") }
        return r
    }
}

/// How many units of each kind L0's gates must remove: KV groups and MLP channels per layer, hidden
/// channels, whole layers.
public struct GateRemovals: Sendable, Equatable {
    public var kvGroups: [Int]
    public var mlpChannels: [Int]
    public var hiddenChannels = 0
    public var layers = 0

    public init(kvGroups: [Int], mlpChannels: [Int], hiddenChannels: Int = 0, layers: Int = 0) {
        self.kvGroups = kvGroups; self.mlpChannels = mlpChannels; self.hiddenChannels = hiddenChannels; self.layers = layers
    }

    /// Block mode's exact per-layer counts (the ratio path).
    public init(_ allocation: BlockAllocation) {
        self.init(kvGroups: allocation.removedKVGroups, mlpChannels: allocation.removedMLPChannels)
    }

    var total: Int { kvGroups.reduce(0, +) + mlpChannels.reduce(0, +) + hiddenChannels + layers }
}
