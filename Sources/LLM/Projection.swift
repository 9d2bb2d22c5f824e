/// The seven linear layers of a Llama decoder block, by the names the pruning papers use.
public enum Projection: String, CaseIterable, Codable, Sendable {
    case q, k, v, o, gate, up, down

    /// Where this projection's input is computed.
    public var inputSite: LinearInputSite {
        switch self {
        case .q, .k, .v: return .attentionInput
        case .o: return .attentionOutput
        case .gate, .up: return .mlpInput
        case .down: return .mlpHidden
        }
    }

    public var isAttention: Bool { [.q, .k, .v, .o].contains(self) }

    /// Hugging Face module path inside `model.layers.N.`.
    public var hfName: String {
        switch self {
        case .q: return "self_attn.q_proj"
        case .k: return "self_attn.k_proj"
        case .v: return "self_attn.v_proj"
        case .o: return "self_attn.o_proj"
        case .gate: return "mlp.gate_proj"
        case .up: return "mlp.up_proj"
        case .down: return "mlp.down_proj"
        }
    }
}

extension DecoderLayer {
    public subscript(_ p: Projection) -> Linear {
        get {
            switch p {
            case .q: return q
            case .k: return k
            case .v: return v
            case .o: return o
            case .gate: return gate
            case .up: return up
            case .down: return down
            }
        }
        set {
            switch p {
            case .q: q = newValue
            case .k: k = newValue
            case .v: v = newValue
            case .o: o = newValue
            case .gate: gate = newValue
            case .up: up = newValue
            case .down: down = newValue
            }
        }
    }
}
