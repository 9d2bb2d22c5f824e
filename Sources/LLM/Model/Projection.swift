/// The linear layers of a decoder block by role, in the names the pruning papers use for
/// Llama. Families map their own modules onto these roles: OPT's out_proj is `o`, fc1 is
/// `up` and fc2 is `down` (it has no `gate`). `LanguageModel.projections` lists a family's.
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
}
