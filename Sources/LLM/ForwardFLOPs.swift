extension LanguageModel {
    /// Floating-point operations of one forward pass over a window of `length` tokens,
    /// logits for every position included. Convention: a multiply-add is 2 FLOPs; attention
    /// counts only the causal (lower-triangular) score and value products, T(T+1)/2 pairs per
    /// head; norms, RoPE, softmax and activations are not counted (they are O(T·d)).
    public func forwardFLOPs(length t: Int) -> Double {
        let T = Double(t)
        var total = 2 * T * Double(headInputSize) * Double(vocabSize)      // LM head
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
