import LLM

/// Multiply-accumulates of a forward pass. Convention: 1 MAC = one multiply-add (ptflops
/// counts the same unit; 1 MAC = 2 FLOPs, `LanguageModel.forwardFLOPs`). Counted: every
/// linear layer (out × in per token, the LM head included, a bias add is not a MAC) and the
/// two attention products QKᵀ and P·V (headDim per query–key pair per head, each).
/// Not counted: norms, RoPE, softmax, SiLU/gating, residual adds, the embedding lookup
/// (all O(T·d), under 0.5 % for SmolLM2-135M at T = 128).
public struct MACCount: Codable, Sendable, Equatable {
    /// Which query–key pairs attention is charged for.
    public enum AttentionPairs: String, Codable, Sendable {
        /// Position t attends to keys 0...t: T(T+1)/2 pairs per head (what a causal kernel computes).
        case causal
        /// All T² pairs (what a dense matmul followed by a mask computes, and ptflops counts).
        case full
    }

    public var sequenceLength: Int
    public var attentionPairs: AttentionPairs
    /// Linear layers, per token, counting every weight (dense-equivalent; pruned zeros included).
    public var linearPerToken: Int
    /// Linear layers, per token, counting only non-zero weights (what sparse kernels execute).
    public var linearNonzeroPerToken: Int
    /// QKᵀ and P·V over the whole sequence.
    public var attentionPerSequence: Int

    public var perSequence: Int { linearPerToken * sequenceLength + attentionPerSequence }
    public var perToken: Double { Double(perSequence) / Double(max(1, sequenceLength)) }
    public var nonzeroPerSequence: Int { linearNonzeroPerToken * sequenceLength + attentionPerSequence }
    public var nonzeroPerToken: Double { Double(nonzeroPerSequence) / Double(max(1, sequenceLength)) }

    public init(model: LanguageModel, sequenceLength t: Int, attentionPairs: AttentionPairs = .causal) {
        sequenceLength = t
        self.attentionPairs = attentionPairs
        // LM head (tied or not): [vocab × headInputSize], which is OPT's word_embed_proj_dim, not
        // the hidden size, where project_in / project_out exist (reading vocab × hidden overran it).
        let head = model.vocabSize * model.headInputSize
        var linear = head + model.embeddingProjectionWeights
        var nonzero = model.withHeadWeights { w in (0..<head).reduce(0) { w[$1] != 0 ? $0 + 1 : $0 } }
            + model.embeddingProjectionWeights
        let pairs = attentionPairs == .causal ? t * (t + 1) / 2 : t * t
        var attention = 0
        for i in 0..<model.layerCount {
            for p in model.projections {
                let l = model.linear(p, layer: i)
                linear += l.outFeatures * l.inFeatures
                nonzero += l.nonzeroWeightCount
            }
            let s = model.blockShape(i)
            attention += 2 * pairs * s.heads * s.headDim
        }
        linearPerToken = linear
        linearNonzeroPerToken = nonzero
        attentionPerSequence = attention
    }
}
