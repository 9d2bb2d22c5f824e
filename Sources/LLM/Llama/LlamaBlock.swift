import Compute

/// One Llama decoder block (Touvron et al. 2023):
///   h = x + W_o · Attention(RoPE(W_q·RMSNorm(x)), RoPE(W_k·RMSNorm(x)), W_v·RMSNorm(x))
///   y = h + W_down · (silu(W_gate·RMSNorm(h)) ⊙ W_up·RMSNorm(h))
/// Head counts and MLP width are this block's own (they differ after structured pruning).
public struct LlamaBlock: Sendable {
    public var inputNorm: [Float]              // [hidden]
    public var q: Linear, k: Linear, v: Linear // [heads·hd × hidden], [kvHeads·hd × hidden] ×2 (+ Qwen2 biases)
    public var o: Linear                       // [hidden × heads·hd]
    public var postAttentionNorm: [Float]      // [hidden]
    public var gate: Linear, up: Linear        // [intermediate × hidden]
    public var down: Linear                    // [hidden × intermediate]
    public var heads: Int
    public var kvHeads: Int
    public let headDim: Int

    public init(inputNorm: [Float], q: Linear, k: Linear, v: Linear, o: Linear, postAttentionNorm: [Float],
                gate: Linear, up: Linear, down: Linear, heads: Int, kvHeads: Int, headDim: Int) {
        self.inputNorm = inputNorm; self.q = q; self.k = k; self.v = v; self.o = o
        self.postAttentionNorm = postAttentionNorm; self.gate = gate; self.up = up; self.down = down
        self.heads = heads; self.kvHeads = kvHeads; self.headDim = headDim
    }

    public var intermediateSize: Int { gate.outFeatures }
    public var kvWidth: Int { kvHeads * headDim }
    public var shape: BlockShape { BlockShape(heads: heads, kvHeads: kvHeads, headDim: headDim, intermediateSize: intermediateSize) }

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

/// What a Llama block's backward needs from its forward over a window of `rows` positions
/// (from position 0): the tensors that cannot be recomputed cheaply. The two RMSNorm outputs
/// and silu(gate)·up are recomputed in the backward from `input`, `mid` and `gate`/`up`
/// (elementwise, negligible next to the GEMMs), and attention probabilities per head from the
/// saved rotated queries and keys. Per block this holds
/// rows × (2·hidden + 2·qWidth + 2·kvWidth + 2·intermediate) floats.
final class LlamaBlockActivations {
    let rows: Int
    let input: UnsafeMutablePointer<Float>       // x, the block input          [rows × hidden]
    let query: UnsafeMutablePointer<Float>       // RoPE(W_q·norm(x) + b_q)     [rows × qWidth]
    let keys: UnsafeMutablePointer<Float>        // RoPE(W_k·norm(x) + b_k)     [rows × kvWidth]
    let values: UnsafeMutablePointer<Float>      // W_v·norm(x) + b_v           [rows × kvWidth]
    let attention: UnsafeMutablePointer<Float>   // heads' outputs, o's input  [rows × qWidth]
    let mid: UnsafeMutablePointer<Float>         // h = x + W_o·attention       [rows × hidden]
    let gate: UnsafeMutablePointer<Float>        // W_gate·norm(h), before silu [rows × intermediate]
    let up: UnsafeMutablePointer<Float>          // W_up·norm(h)                [rows × intermediate]

    init(rows: Int, hidden: Int, shape: BlockShape) {
        self.rows = rows
        func buffer(_ n: Int) -> UnsafeMutablePointer<Float> { .allocate(capacity: max(1, n)) }
        input = buffer(rows * hidden); mid = buffer(rows * hidden)
        query = buffer(rows * shape.queryWidth); attention = buffer(rows * shape.queryWidth)
        keys = buffer(rows * shape.kvWidth); values = buffer(rows * shape.kvWidth)
        gate = buffer(rows * shape.intermediateSize); up = buffer(rows * shape.intermediateSize)
    }

    deinit { [input, query, keys, values, attention, mid, gate, up].forEach { $0.deallocate() } }
}

extension LlamaBlock {
    /// Runs the block in place on hidden [rows × hiddenSize] at positions
    /// startPosition..<startPosition+rows. Keys/values go to `kv` (a cache's layer buffers,
    /// holding startPosition earlier rows) or to scratch (or the recording) without a cache.
    /// `segments` (no cache): the rows are several sequences packed together (see `AttentionSegment`).
    /// This is the block's only forward: calibration (observe, stop), one-pass pruning (stop and
    /// resume at a site) and the backward (record) are hooks on it. Returns whether it stopped at
    /// `hooks.stopAfter` (false: it ran to the block output, e.g. the site does not exist here).
    @discardableResult
    func forward(hidden: UnsafeMutablePointer<Float>, rows: Int, hiddenSize: Int, startPosition: Int,
                 kv: (keys: UnsafeMutablePointer<Float>, values: UnsafeMutablePointer<Float>)?,
                 rope: RotaryEmbedding, eps: Float, scratch s: ForwardScratch, hooks h: BlockHooks = BlockHooks(),
                 record rec: LlamaBlockActivations? = nil, segments: [AttentionSegment]? = nil) -> Bool {
        let qWidth = heads * headDim, inter = intermediateSize
        let keys = kv?.keys ?? rec?.keys ?? s.keys, values = kv?.values ?? rec?.values ?? s.values
        let query = rec?.query ?? s.query, attention = rec?.attention ?? s.attention
        let kvBase = kv == nil ? 0 : startPosition
        let newKeys = keys + kvBase * kvWidth, newValues = values + kvBase * kvWidth
        func reached(_ site: LinearInputSite, _ x: UnsafeMutablePointer<Float>, _ width: Int) -> Bool {
            h.reached(site, x, rows: rows, width: width)
        }
        let from = h.resumeFrom?.rawValue ?? -1
        rec?.input.update(from: hidden, count: rows * hiddenSize)

        // Attention sub-block.
        if heads > 0 && from <= LinearInputSite.attentionOutput.rawValue {
            if from < LinearInputSite.attentionOutput.rawValue {
                if from < 0 {
                    inputNorm.withUnsafeBufferPointer { w in
                        rmsNorm(hidden, rows: rows, dim: hiddenSize, weight: w.baseAddress!, eps: eps, into: s.normed)
                    }
                } else {
                    s.normed.update(from: h.site!, count: rows * hiddenSize)
                }
                if reached(.attentionInput, s.normed, hiddenSize) { return true }
                q.apply(s.normed, rows: rows, into: query)
                k.apply(s.normed, rows: rows, into: newKeys)
                v.apply(s.normed, rows: rows, into: newValues)
                if let segments {
                    // Packed sequences: each segment's rows sit at positions after its prefix.
                    for seg in segments where seg.count > 0 {
                        rope.apply(query + seg.start * qWidth, rows: seg.count, heads: heads, rowStride: qWidth,
                                   startPosition: seg.prefixCount)
                        rope.apply(newKeys + seg.start * kvWidth, rows: seg.count, heads: kvHeads, rowStride: kvWidth,
                                   startPosition: seg.prefixCount)
                    }
                    segmentedCausalAttention(q: query, qStride: qWidth, keys: keys, values: values, kvStride: kvWidth,
                                             heads: heads, kvHeads: kvHeads, headDim: headDim, segments: segments,
                                             out: attention, outStride: qWidth)
                } else {
                    rope.apply(query, rows: rows, heads: heads, rowStride: qWidth, startPosition: startPosition)
                    rope.apply(newKeys, rows: rows, heads: kvHeads, rowStride: kvWidth, startPosition: startPosition)
                    causalAttention(q: query, qRows: rows, qStride: qWidth, startPosition: kvBase,
                                    keys: keys, values: values, kvStride: kvWidth,
                                    heads: heads, kvHeads: kvHeads, headDim: headDim,
                                    out: attention, outStride: qWidth)
                }
            } else {
                attention.update(from: h.site!, count: rows * qWidth)
            }
            if reached(.attentionOutput, attention, qWidth) { return true }
            o.apply(attention, rows: rows, into: hidden, accumulate: true)   // residual fused into GEMM
        }
        rec?.mid.update(from: hidden, count: rows * hiddenSize)

        // MLP sub-block.
        guard inter > 0 else { return true }
        if from < LinearInputSite.mlpHidden.rawValue {
            if from < LinearInputSite.mlpInput.rawValue {
                postAttentionNorm.withUnsafeBufferPointer { w in
                    rmsNorm(hidden, rows: rows, dim: hiddenSize, weight: w.baseAddress!, eps: eps, into: s.normed)
                }
            } else {
                s.normed.update(from: h.site!, count: rows * hiddenSize)
            }
            if reached(.mlpInput, s.normed, hiddenSize) { return true }
            gate.apply(s.normed, rows: rows, into: s.gate)
            up.apply(s.normed, rows: rows, into: rec?.up ?? s.up)
            rec?.gate.update(from: s.gate, count: rows * inter)
            swiGLUInPlace(gate: s.gate, up: rec?.up ?? s.up, count: rows * inter)
        } else {
            s.gate.update(from: h.site!, count: rows * inter)
        }
        if reached(.mlpHidden, s.gate, inter) { return true }
        down.apply(s.gate, rows: rows, into: hidden, accumulate: true)
        return false
    }
}
