/// One parameter tensor of a model, as the registry lists it (`LanguageModel.parameters`):
/// writers, gradients, parameter counts and pruning all walk this list rather than knowing
/// a family's fields.
public struct ParameterTensor: Equatable, Sendable {
    /// Hugging Face name, e.g. "model.layers.3.self_attn.q_proj.weight".
    public var name: String
    /// Hugging Face shape ([out, in] for a linear weight).
    public var shape: [Int]
    public var role: ParameterRole
    /// What each dimension indexes; structured pruning cuts tensors along these.
    public var axes: [TensorAxis]

    public init(name: String, shape: [Int], role: ParameterRole, axes: [TensorAxis]) {
        precondition(shape.count == axes.count, "\(name): one axis label per dimension")
        self.name = name; self.shape = shape; self.role = role; self.axes = axes
    }

    public var count: Int { shape.reduce(1, *) }
}

/// What a parameter is for.
public enum ParameterRole: Equatable, Sendable {
    case tokenEmbedding
    case positionEmbedding
    /// A norm's scale (RMSNorm, LayerNorm) or LayerNorm's shift; `layer` nil for the final norm.
    case norm(layer: Int?)
    /// A block's linear weight, with the site its input comes from.
    case projection(Projection, layer: Int, site: LinearInputSite)
    case bias(Projection, layer: Int)
    /// A linear map outside the blocks (OPT-350m's project_in / project_out).
    case embeddingProjection
    case head
    /// A LoRA adapter tensor (A or B) on projection p of block `layer` (recovery fine-tuning).
    case adapter(Projection, layer: Int)
}

extension ParameterRole {
    /// The block this parameter belongs to (nil outside the blocks).
    public var layer: Int? {
        switch self {
        case .norm(let l): return l
        case .projection(_, let l, _), .bias(_, let l), .adapter(_, let l): return l
        default: return nil
        }
    }
}

/// What one dimension of a parameter indexes.
public enum TensorAxis: Equatable, Sendable {
    case vocabulary
    /// Learned positions (OPT keeps its offset rows in this axis too).
    case positions
    /// The residual stream (hidden channels).
    case hidden
    /// The width the token embedding and head use when it differs from the stream (OPT-350m).
    case wordEmbedding
    /// Query heads × head_dim of block `layer`.
    case queryChannels(layer: Int)
    /// KV heads × head_dim of block `layer`.
    case kvChannels(layer: Int)
    /// MLP hidden channels of block `layer`.
    case mlpChannels(layer: Int)
    /// The rank of a LoRA adapter.
    case adapterRank
}
