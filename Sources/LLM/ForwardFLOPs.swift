extension LanguageModel {
    /// Floating-point operations of one forward pass over a window of `length` tokens,
    /// logits for every position included. Convention: a multiply-add is 2 FLOPs; attention
    /// counts only the causal (lower-triangular) score and value products, T(T+1)/2 pairs per
    /// head; norms, RoPE, softmax and activations are not counted (they are O(T·d)).
    public func forwardFLOPs(length t: Int) -> Double {
        let T = Double(t)
        var total = 2 * T * Double(headInputSize) * Double(vocabSize)      // LM head
        total += 2 * T * Double(embeddingProjectionWeights)                  // OPT's project_in / project_out
        let pairs = T * (T + 1) / 2
        for i in 0..<layerCount {
            for p in projections {
                let l = linear(p, layer: i)
                total += 2 * T * Double(l.outFeatures) * Double(l.inFeatures)
            }
            let s = blockShape(i)
            total += 2 * 2 * pairs * Double(s.headDim) * Double(s.heads)    // QKᵀ and P·V
        }
        return total
    }
}

extension LanguageModel {
    /// Weights of the projections between the word embedding's width and the hidden size (OPT's
    /// project_in and project_out when word_embed_proj_dim ≠ hidden_size; 0 otherwise): each is
    /// used once per token, like a block's projection.
    public var embeddingProjectionWeights: Int {
        parameters.reduce(0) { $0 + ($1.role == .embeddingProjection ? $1.count : 0) }
    }
}
