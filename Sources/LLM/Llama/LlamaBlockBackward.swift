import Compute

extension LlamaBlock {
    /// Backward of the block (see `LlamaBlock`), in reverse order of the forward:
    ///   y = h + W_down·(silu(W_gate·n₂) ⊙ W_up·n₂),  n₂ = RMSNorm(h)
    ///   h = x + W_o·Attention(RoPE(W_q·n₁), RoPE(W_k·n₁), W_v·n₁),  n₁ = RMSNorm(x)
    /// `hiddenGradient` holds ∂L/∂y on entry and ∂L/∂x on return (the residual connections
    /// pass it straight through; each branch adds its own share). Parameter gradients are
    /// added into the gradient buffers of block `layer` (`gradient` finds a parameter's by name).
    func backward(hiddenGradient dH: UnsafeMutablePointer<Float>, activations a: LlamaBlockActivations,
                  hiddenSize: Int, rope: RotaryEmbedding, angles: RotaryAngles, eps: Float,
                  scratch s: BackwardScratch, layer: Int, gradient: GradientLookup,
                  segments: [AttentionSegment]? = nil) {
        let prefix = "model.layers.\(layer)."
        func g(_ p: Projection) -> LinearGradientPointers {
            LinearGradientPointers(prefix + LlamaTensorNames.module(p), self[p], gradient)
        }
        let rows = a.rows, inter = intermediateSize, qWidth = heads * headDim

        // MLP branch: ∂L/∂y reaches h directly and through the branch.
        if inter > 0 {
            postAttentionNorm.withUnsafeBufferPointer { w in
                rmsNorm(a.mid, rows: rows, dim: hiddenSize, weight: w.baseAddress!, eps: eps, into: s.normed)
            }
            s.product.update(from: a.gate, count: rows * inter)
            swiGLUInPlace(gate: s.product, up: a.up, count: rows * inter)
            down.backward(outputGradient: dH, input: s.product, rows: rows,
                          inputGradient: s.gateGradient, accumulateInput: false, into: g(.down))
            swiGLUBackward(gate: a.gate, up: a.up, gradient: s.gateGradient, upGradient: s.upGradient,
                           count: rows * inter)
            gate.backward(outputGradient: s.gateGradient, input: s.normed, rows: rows,
                          inputGradient: s.normedGradient, accumulateInput: false, into: g(.gate))
            up.backward(outputGradient: s.upGradient, input: s.normed, rows: rows,
                        inputGradient: s.normedGradient, accumulateInput: true, into: g(.up))
            postAttentionNorm.withUnsafeBufferPointer { w in
                rmsNormBackward(a.mid, rows: rows, dim: hiddenSize, weight: w.baseAddress!, eps: eps,
                                outputGradient: s.normedGradient, addingInputGradientTo: dH,
                                addingWeightGradientTo: gradient(prefix + "post_attention_layernorm.weight"))
            }
        }

        // Attention branch: dH now holds ∂L/∂h.
        if heads > 0 {
            o.backward(outputGradient: dH, input: a.attention, rows: rows,
                       inputGradient: s.attentionGradient, accumulateInput: false, into: g(.o))
            // Packed sequences (a micro-batch): attention and positions per sequence.
            for seg in segments ?? [AttentionSegment(start: 0, count: rows)] where seg.count > 0 {
                let qo = seg.start * qWidth, ko = seg.start * kvWidth
                causalAttentionBackward(q: a.query + qo, keys: a.keys + ko, values: a.values + ko,
                                        outputGradient: s.attentionGradient + qo, rows: seg.count,
                                        qStride: qWidth, kvStride: kvWidth,
                                        heads: heads, kvHeads: kvHeads, headDim: headDim,
                                        queryGradient: s.queryGradient + qo, keyGradient: s.keyGradient + ko,
                                        valueGradient: s.valueGradient + ko)
                rope.applyTransposed(s.queryGradient + qo, rows: seg.count, heads: heads, rowStride: qWidth, angles: angles)
                rope.applyTransposed(s.keyGradient + ko, rows: seg.count, heads: kvHeads, rowStride: kvWidth, angles: angles)
            }
            inputNorm.withUnsafeBufferPointer { w in
                rmsNorm(a.input, rows: rows, dim: hiddenSize, weight: w.baseAddress!, eps: eps, into: s.normed)
            }
            q.backward(outputGradient: s.queryGradient, input: s.normed, rows: rows,
                       inputGradient: s.normedGradient, accumulateInput: false, into: g(.q))
            k.backward(outputGradient: s.keyGradient, input: s.normed, rows: rows,
                       inputGradient: s.normedGradient, accumulateInput: true, into: g(.k))
            v.backward(outputGradient: s.valueGradient, input: s.normed, rows: rows,
                       inputGradient: s.normedGradient, accumulateInput: true, into: g(.v))
            inputNorm.withUnsafeBufferPointer { w in
                rmsNormBackward(a.input, rows: rows, dim: hiddenSize, weight: w.baseAddress!, eps: eps,
                                outputGradient: s.normedGradient, addingInputGradientTo: dH,
                                addingWeightGradientTo: gradient(prefix + "input_layernorm.weight"))
            }
        }
    }
}
