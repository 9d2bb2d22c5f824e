/// The Llama family's one table of tensor names: Hugging Face name ↔ llama.cpp GGUF name
/// (convert_hf_to_gguf.py / gguf-py's tensor_mapping) ↔ what the tensor is. Loading, the
/// parameter registry, writing and GGUF name mapping all read this table.
public enum LlamaTensorNames {
    /// Tensors outside the blocks: (HF name, GGUF name).
    public static let embedding = (hf: "model.embed_tokens.weight", gguf: "token_embd.weight")
    public static let finalNorm = (hf: "model.norm.weight", gguf: "output_norm.weight")
    public static let head = (hf: "lm_head.weight", gguf: "output.weight")

    /// Per block, under `model.layers.N.` / `blk.N.`: (HF module, GGUF module).
    public static let inputNorm = (hf: "input_layernorm", gguf: "attn_norm")
    public static let postAttentionNorm = (hf: "post_attention_layernorm", gguf: "ffn_norm")
    public static let projections: [(projection: Projection, hf: String, gguf: String)] = [
        (.q, "self_attn.q_proj", "attn_q"),
        (.k, "self_attn.k_proj", "attn_k"),
        (.v, "self_attn.v_proj", "attn_v"),
        (.o, "self_attn.o_proj", "attn_output"),
        (.gate, "mlp.gate_proj", "ffn_gate"),
        (.up, "mlp.up_proj", "ffn_up"),
        (.down, "mlp.down_proj", "ffn_down"),
    ]

    /// HF module of a projection inside `model.layers.N.`, e.g. "mlp.up_proj".
    public static func module(_ p: Projection) -> String {
        projections.first { $0.projection == p }!.hf
    }

    /// HF name of a llama.cpp tensor name, or nil if it has none (e.g. `rope_freqs.weight`).
    public static func hfName(forGGUFName name: String) -> String? {
        for t in [embedding, finalNorm, head] where t.gguf == name { return t.hf }
        let parts = name.split(separator: ".")
        guard parts.count == 4, parts[0] == "blk", let layer = Int(parts[1]), layer >= 0,
              parts[3] == "weight" || parts[3] == "bias" else { return nil }
        let module = String(parts[2])
        let hf = [inputNorm, postAttentionNorm].first { $0.gguf == module }?.hf
            ?? projections.first { $0.gguf == module }?.hf
        return hf.map { "model.layers.\(layer).\($0).\(parts[3])" }
    }
}
