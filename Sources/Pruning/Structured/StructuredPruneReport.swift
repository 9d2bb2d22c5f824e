/// What structured pruning did, written as `pruning.json` beside a saved model.
public struct StructuredPruneReport: Codable, Sendable {
    public var method: String
    public var mode: String
    public var ratioMode: String
    public var ratioRequested: Double
    /// 1 − params_after / params_before, over every parameter (embeddings included, tied counted once).
    public var ratioActual: Double
    public var paramsBefore: Int
    public var paramsAfter: Int
    /// float32 bytes of all weights.
    public var weightBytesBefore: Int
    public var weightBytesAfter: Int
    public var attentionLayers: String?
    public var mlpLayers: String?
    /// The per-layer fraction the allocation was solved around (block mode).
    public var perLayerRatio: Double?
    public var hiddenSizeBefore: Int
    public var hiddenSizeAfter: Int
    /// Dense indices of dropped layers (layer mode).
    public var droppedLayers: [Int]
    /// Per layer of the pruned model.
    public var heads: [Int]
    public var kvHeads: [Int]
    public var intermediateSizes: [Int]
    public var taylorOrder: String?
    public var aggregation: String
    public var layerScore: String?
    public var seed: UInt64
    public var calibrationWindows: Int
    public var calibrationSeqlen: Int
    public var calibrationSource: String?
    public var secondsByPhase: [String: Double]
    public var seconds: Double
    /// Bonsai's rounds (nil for the other criteria).
    public var bonsai: Bonsai.Summary? = nil
    public var l0: HardConcreteGates.Summary? = nil

    enum CodingKeys: String, CodingKey {
        case method, mode, ratioMode = "ratio_mode", ratioRequested = "ratio_requested", ratioActual = "ratio_actual"
        case paramsBefore = "params_before", paramsAfter = "params_after"
        case weightBytesBefore = "weight_bytes_before", weightBytesAfter = "weight_bytes_after"
        case attentionLayers = "attn_layers", mlpLayers = "mlp_layers", perLayerRatio = "per_layer_ratio"
        case hiddenSizeBefore = "hidden_size_before", hiddenSizeAfter = "hidden_size_after"
        case droppedLayers = "dropped_layers", heads, kvHeads = "kv_heads", intermediateSizes = "intermediate_sizes"
        case taylorOrder = "taylor", aggregation, layerScore = "layer_score", seed
        case calibrationWindows = "calibration_windows", calibrationSeqlen = "calibration_seqlen"
        case calibrationSource = "calibration_source"
        case secondsByPhase = "seconds_by_phase", seconds, bonsai, l0
    }
}
