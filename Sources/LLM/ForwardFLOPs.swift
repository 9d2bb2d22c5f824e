extension LlamaModel {
    /// Floating-point operations of one forward pass over a window of `length` tokens,
    /// logits for every position included. Convention: a multiply-add is 2 FLOPs; attention
    /// counts only the causal (lower-triangular) score and value products, T(T+1)/2 pairs per
    /// head; norms, RoPE, softmax and activations are not counted (they are O(T·d)).
    public func forwardFLOPs(length t: Int) -> Double {
        let T = Double(t), d = Double(hiddenSize)
        var total = 2 * T * d * Double(vocabSize)                   // LM head
        let pairs = T * (T + 1) / 2
        for l in layers {
            let q = Double(l.heads * l.headDim), kv = Double(l.kvWidth), inter = Double(l.intermediateSize)
            total += 2 * T * d * (q + 2 * kv)                        // q, k, v projections
            total += 2 * T * q * d                                   // o projection
            total += 2 * T * d * inter * 3                           // gate, up, down
            total += 2 * 2 * pairs * Double(l.headDim) * Double(l.heads)   // QKᵀ and P·V
        }
        return total
    }
}
