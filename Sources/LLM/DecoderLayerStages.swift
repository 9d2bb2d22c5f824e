import Compute

/// A decoder layer taken one linear-input site at a time, for one-pass pruning (DESIGN.md §5,
/// SparseGPT's "true sequential"): the projections that read a site can only be pruned once that
/// site's statistics have been gathered from every calibration window, and the next site must
/// then be computed with those projections already pruned. So instead of running the whole layer
/// window by window, the caller runs each stage over all windows, prunes, and moves on:
///
///   x ─RMSNorm→ attentionInput ─q,k,v,RoPE,softmax→ attentionHeads ─o→ h = x + o(…)
///   h ─RMSNorm→ mlpInput ─gate,up,SiLU→ mlpActivations ─down→ y = h + down(…)
///
/// Every stage is the same arithmetic as `DecoderLayer.forward` (which stays the fast fused path).
/// Windows start at position 0 and use no cache.
extension LlamaModel {
    private func rows(_ hidden: [Float]) -> Int { hidden.count / hiddenSize }

    private func normed(_ hidden: [Float], weight: [Float]) -> [Float] {
        let n = rows(hidden)
        var out = [Float](repeating: 0, count: hidden.count)
        hidden.withUnsafeBufferPointer { h in
            weight.withUnsafeBufferPointer { w in
                out.withUnsafeMutableBufferPointer { o in
                    rmsNorm(h.baseAddress!, rows: n, dim: hiddenSize, weight: w.baseAddress!, eps: config.rmsNormEps,
                            into: o.baseAddress!)
                }
            }
        }
        return out
    }

    /// RMSNorm(x) with the layer's input norm: what q, k and v read.
    public func attentionInput(layer i: Int, hidden: [Float]) -> [Float] {
        normed(hidden, weight: layers[i].inputNorm)
    }

    /// The concatenated attention heads [rows × heads·headDim]: what o reads.
    public func attentionHeads(layer i: Int, hidden: [Float]) -> [Float] {
        let l = layers[i], n = rows(hidden)
        let qWidth = l.heads * l.headDim
        guard l.heads > 0 else { return [] }
        let x = attentionInput(layer: i, hidden: hidden)
        var query = [Float](repeating: 0, count: n * qWidth)
        var keys = [Float](repeating: 0, count: n * l.kvWidth)
        var values = [Float](repeating: 0, count: n * l.kvWidth)
        var out = [Float](repeating: 0, count: n * qWidth)
        x.withUnsafeBufferPointer { xb in
            query.withUnsafeMutableBufferPointer { qb in
                keys.withUnsafeMutableBufferPointer { kb in
                    values.withUnsafeMutableBufferPointer { vb in
                        out.withUnsafeMutableBufferPointer { ob in
                            l.q.apply(xb.baseAddress!, rows: n, into: qb.baseAddress!)
                            l.k.apply(xb.baseAddress!, rows: n, into: kb.baseAddress!)
                            l.v.apply(xb.baseAddress!, rows: n, into: vb.baseAddress!)
                            rope.apply(qb.baseAddress!, rows: n, heads: l.heads, rowStride: qWidth, startPosition: 0)
                            rope.apply(kb.baseAddress!, rows: n, heads: l.kvHeads, rowStride: l.kvWidth, startPosition: 0)
                            causalAttention(q: qb.baseAddress!, qRows: n, qStride: qWidth, startPosition: 0,
                                            keys: kb.baseAddress!, values: vb.baseAddress!, kvStride: l.kvWidth,
                                            heads: l.heads, kvHeads: l.kvHeads, headDim: l.headDim,
                                            out: ob.baseAddress!, outStride: qWidth)
                        }
                    }
                }
            }
        }
        return out
    }

    /// hidden += W_o · heads (the attention residual).
    public func addAttentionOutput(layer i: Int, heads: [Float], hidden: inout [Float]) {
        guard layers[i].heads > 0 else { return }
        let n = rows(hidden)
        heads.withUnsafeBufferPointer { a in
            hidden.withUnsafeMutableBufferPointer { h in
                layers[i].o.apply(a.baseAddress!, rows: n, into: h.baseAddress!, accumulate: true)
            }
        }
    }

    /// RMSNorm(h) with the post-attention norm: what gate and up read.
    public func mlpInput(layer i: Int, hidden: [Float]) -> [Float] {
        normed(hidden, weight: layers[i].postAttentionNorm)
    }

    /// silu(W_gate·x) ⊙ W_up·x [rows × intermediate]: what down reads.
    public func mlpActivations(layer i: Int, hidden: [Float]) -> [Float] {
        let l = layers[i], n = rows(hidden), width = l.intermediateSize
        guard width > 0 else { return [] }
        let x = mlpInput(layer: i, hidden: hidden)
        var gate = [Float](repeating: 0, count: n * width)
        var up = [Float](repeating: 0, count: n * width)
        x.withUnsafeBufferPointer { xb in
            gate.withUnsafeMutableBufferPointer { g in
                up.withUnsafeMutableBufferPointer { u in
                    l.gate.apply(xb.baseAddress!, rows: n, into: g.baseAddress!)
                    l.up.apply(xb.baseAddress!, rows: n, into: u.baseAddress!)
                    swiGLUInPlace(gate: g.baseAddress!, up: u.baseAddress!, count: n * width)
                }
            }
        }
        return gate
    }

    /// hidden += W_down · activations (the MLP residual).
    public func addMLPOutput(layer i: Int, activations: [Float], hidden: inout [Float]) {
        guard layers[i].intermediateSize > 0 else { return }
        let n = rows(hidden)
        activations.withUnsafeBufferPointer { a in
            hidden.withUnsafeMutableBufferPointer { h in
                layers[i].down.apply(a.baseAddress!, rows: n, into: h.baseAddress!, accumulate: true)
            }
        }
    }
}
