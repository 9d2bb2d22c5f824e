import Compute

/// One OPT decoder block (Zhang et al. 2022; transformers' OPTDecoderLayer), multi-head
/// attention with biases and a ReLU MLP. Pre-LN (every OPT except 350m):
///   h = x + W_out·Attention(W_q·LN₁(x) + b_q, W_k·LN₁(x) + b_k, W_v·LN₁(x) + b_v) + b_out
///   y = h + W_fc2·relu(W_fc1·LN₂(h) + b_fc1) + b_fc2
/// Post-LN (350m): h = LN₁(x + attention(x)), y = LN₂(h + mlp(h)).
/// transformers scales q by 1/√d after its bias; the attention kernel scales the scores by the
/// same factor, which is the same product.
public struct OPTBlock: Sendable {
    public var attentionNorm: LayerNormWeights     // self_attn_layer_norm, [hidden]
    public var q: Linear, k: Linear, v: Linear     // [heads·hd × hidden] (+ bias)
    public var o: Linear                           // out_proj, [hidden × heads·hd] (+ bias)
    public var mlpNorm: LayerNormWeights           // final_layer_norm (of the block), [hidden]
    public var fc1: Linear                         // [ffn × hidden] (+ bias)
    public var fc2: Linear                         // [hidden × ffn] (+ bias)
    public var heads: Int
    public let headDim: Int
    public let normBefore: Bool

    public var shape: BlockShape { BlockShape(heads: heads, kvHeads: heads, headDim: headDim, intermediateSize: fc1.outFeatures) }

    public subscript(_ p: Projection) -> Linear {
        get {
            switch p {
            case .q: return q
            case .k: return k
            case .v: return v
            case .o: return o
            case .up: return fc1
            case .down: return fc2
            case .gate: preconditionFailure("OPT has no gate projection")
            }
        }
        set {
            switch p {
            case .q: q = newValue
            case .k: k = newValue
            case .v: v = newValue
            case .o: o = newValue
            case .up: fc1 = newValue
            case .down: fc2 = newValue
            case .gate: preconditionFailure("OPT has no gate projection")
            }
        }
    }
}

/// A LayerNorm's elementwise affine (absent when `layer_norm_elementwise_affine` is false).
public struct LayerNormWeights: Sendable {
    public var weight: [Float]?
    public var bias: [Float]?
    public let eps: Float

    func apply(_ x: UnsafePointer<Float>, rows: Int, dim: Int, into y: UnsafeMutablePointer<Float>) {
        func with(_ a: [Float]?, _ body: (UnsafePointer<Float>?) -> Void) {
            guard let a else { return body(nil) }
            a.withUnsafeBufferPointer { body($0.baseAddress!) }
        }
        with(weight) { w in with(bias) { b in layerNorm(x, rows: rows, dim: dim, weight: w, bias: b, eps: eps, into: y) } }
    }
}

extension OPTBlock {
    /// Runs the block in place on hidden [rows × hiddenSize] (see `LlamaBlock.forward` for the
    /// cache, segments and hooks; OPT has no rotary embedding, positions entered at the embedding).
    /// Returns whether it stopped at `hooks.stopAfter`.
    @discardableResult
    func forward(hidden: UnsafeMutablePointer<Float>, rows: Int, hiddenSize d: Int, startPosition: Int,
                 kv: (keys: UnsafeMutablePointer<Float>, values: UnsafeMutablePointer<Float>)?,
                 scratch s: ForwardScratch, hooks h: BlockHooks = BlockHooks(),
                 record rec: OPTBlockActivations? = nil, segments: [AttentionSegment]? = nil) -> Bool {
        let width = heads * headDim, inter = fc1.outFeatures
        let keys = kv?.keys ?? rec?.keys ?? s.keys, values = kv?.values ?? rec?.values ?? s.values
        let query = rec?.query ?? s.query, attention = rec?.attention ?? s.attention
        let mlpHidden = rec?.mlpHidden ?? s.gate
        let kvBase = kv == nil ? 0 : startPosition
        let newKeys = keys + kvBase * width, newValues = values + kvBase * width
        func reached(_ site: LinearInputSite, _ x: UnsafeMutablePointer<Float>, _ w: Int) -> Bool {
            h.reached(site, x, rows: rows, width: w)
        }
        let from = h.resumeFrom?.rawValue ?? -1
        rec?.input.update(from: hidden, count: rows * d)

        // Attention sub-block: its input is LN₁(x) (pre-LN) or x itself (post-LN).
        if heads > 0 && from <= LinearInputSite.attentionOutput.rawValue {
            if from < LinearInputSite.attentionOutput.rawValue {
                if from == LinearInputSite.attentionInput.rawValue {
                    s.normed.update(from: h.site!, count: rows * d)
                } else if normBefore {
                    attentionNorm.apply(hidden, rows: rows, dim: d, into: s.normed)
                } else {
                    s.normed.update(from: hidden, count: rows * d)
                }
                if reached(.attentionInput, s.normed, d) { return true }
                q.apply(s.normed, rows: rows, into: query)
                k.apply(s.normed, rows: rows, into: newKeys)
                v.apply(s.normed, rows: rows, into: newValues)
                if let segments {
                    segmentedCausalAttention(q: query, qStride: width, keys: keys, values: values, kvStride: width,
                                             heads: heads, kvHeads: heads, headDim: headDim, segments: segments,
                                             out: attention, outStride: width)
                } else {
                    causalAttention(q: query, qRows: rows, qStride: width, startPosition: kvBase,
                                    keys: keys, values: values, kvStride: width,
                                    heads: heads, kvHeads: heads, headDim: headDim, out: attention, outStride: width)
                }
            } else {
                attention.update(from: h.site!, count: rows * width)
            }
            if reached(.attentionOutput, attention, width) { return true }
            o.apply(attention, rows: rows, into: hidden, accumulate: true)
        }
        rec?.mid.update(from: hidden, count: rows * d)
        if !normBefore && from < LinearInputSite.mlpInput.rawValue {
            attentionNorm.apply(hidden, rows: rows, dim: d, into: s.normed)
            hidden.update(from: s.normed, count: rows * d)
        }

        // MLP sub-block: its input is LN₂(h) (pre-LN) or h (post-LN).
        if inter > 0 {
            if from < LinearInputSite.mlpHidden.rawValue {
                if from == LinearInputSite.mlpInput.rawValue {
                    s.normed.update(from: h.site!, count: rows * d)
                } else if normBefore {
                    mlpNorm.apply(hidden, rows: rows, dim: d, into: s.normed)
                } else {
                    s.normed.update(from: hidden, count: rows * d)
                }
                if reached(.mlpInput, s.normed, d) { return true }
                fc1.apply(s.normed, rows: rows, into: mlpHidden)
                reluInPlace(mlpHidden, count: rows * inter)
            } else {
                mlpHidden.update(from: h.site!, count: rows * inter)
            }
            if reached(.mlpHidden, mlpHidden, inter) { return true }
            fc2.apply(mlpHidden, rows: rows, into: hidden, accumulate: true)
        }
        rec?.output.update(from: hidden, count: rows * d)
        if !normBefore {
            mlpNorm.apply(hidden, rows: rows, dim: d, into: s.normed)
            hidden.update(from: s.normed, count: rows * d)
        }
        return false
    }
}
