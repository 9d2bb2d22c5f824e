/// The OPT family's one table of tensor names (transformers' OPTForCausalLM): Hugging Face
/// names of the model-level tensors and of each block's modules under `model.decoder.layers.N.`.
public enum OPTTensorNames {
    public static let embedding = "model.decoder.embed_tokens.weight"        // [vocab × wordEmbedProjDim]
    /// Learned positions, [maxPositions + 2 × hidden]: position p reads row p + 2 (OPT's offset).
    public static let positions = "model.decoder.embed_positions.weight"
    public static let projectIn = "model.decoder.project_in.weight"          // [hidden × wordEmbedProjDim]
    public static let projectOut = "model.decoder.project_out.weight"        // [wordEmbedProjDim × hidden]
    public static let finalNorm = "model.decoder.final_layer_norm"           // .weight / .bias, [hidden]
    public static let head = "lm_head.weight"                                 // tied to the embedding
    public static let positionOffset = 2

    public static func layer(_ i: Int) -> String { "model.decoder.layers.\(i)." }
    public static let attentionNorm = "self_attn_layer_norm"
    public static let mlpNorm = "final_layer_norm"
    /// Block projections by role: out_proj is `o`, fc1 `up`, fc2 `down`.
    public static let projections: [(projection: Projection, hf: String)] = [
        (.q, "self_attn.q_proj"), (.k, "self_attn.k_proj"), (.v, "self_attn.v_proj"),
        (.o, "self_attn.out_proj"), (.up, "fc1"), (.down, "fc2"),
    ]

    public static func module(_ p: Projection) -> String {
        guard let m = projections.first(where: { $0.projection == p }) else { preconditionFailure("OPT has no \(p) projection") }
        return m.hf
    }
}
