import Compute

/// One Llama decoder block (Touvron et al. 2023):
///   h = x + W_o · Attention(RoPE(W_q·RMSNorm(x)), RoPE(W_k·RMSNorm(x)), W_v·RMSNorm(x))
///   y = h + W_down · (silu(W_gate·RMSNorm(h)) ⊙ W_up·RMSNorm(h))
/// Head counts and MLP width are this layer's own (they differ after structured pruning).
public struct DecoderLayer: Sendable {
    public var inputNorm: [Float]
    public var q: Linear, k: Linear, v: Linear, o: Linear
    public var postAttentionNorm: [Float]
    public var gate: Linear, up: Linear, down: Linear
    public var heads: Int
    public var kvHeads: Int
    public let headDim: Int

    public var intermediateSize: Int { gate.outFeatures }
    public var kvWidth: Int { kvHeads * headDim }
    public var parameterCount: Int {
        inputNorm.count + postAttentionNorm.count
            + [q, k, v, o, gate, up, down].reduce(0) { $0 + $1.parameterCount }
    }
}

/// Where inside a decoder layer a linear layer's input can be observed (calibration):
/// the same input feeds several projections.
public enum LinearInputSite: Int, CaseIterable, Sendable {
    case attentionInput    // RMSNorm(x): input of q, k, v
    case attentionOutput   // concatenated heads: input of o
    case mlpInput          // RMSNorm(h): input of gate, up
    case mlpHidden         // silu(gate)·up: input of down
}

/// Sees each linear input of a layer as it is computed: (site, rows × columns buffer).
public typealias LinearInputObserver = (LinearInputSite, UnsafePointer<Float>, _ rows: Int, _ columns: Int) -> Void

/// Scratch buffers for a forward over `rows` positions, sized for the widest layer and
/// reused across layers so a forward pass allocates once.
final class ForwardScratch {
    let rows: Int
    let normed: UnsafeMutablePointer<Float>     // rows × hidden
    let query: UnsafeMutablePointer<Float>      // rows × maxQWidth
    let attention: UnsafeMutablePointer<Float>  // rows × maxQWidth
    let gate: UnsafeMutablePointer<Float>       // rows × maxIntermediate
    let up: UnsafeMutablePointer<Float>         // rows × maxIntermediate
    let keys: UnsafeMutablePointer<Float>       // rows × maxKVWidth (used without a cache)
    let values: UnsafeMutablePointer<Float>

    init(rows: Int, hidden: Int, maxQWidth: Int, maxKVWidth: Int, maxIntermediate: Int) {
        self.rows = rows
        normed = .allocate(capacity: max(1, rows * hidden))
        query = .allocate(capacity: max(1, rows * maxQWidth))
        attention = .allocate(capacity: max(1, rows * maxQWidth))
        gate = .allocate(capacity: max(1, rows * maxIntermediate))
        up = .allocate(capacity: max(1, rows * maxIntermediate))
        keys = .allocate(capacity: max(1, rows * maxKVWidth))
        values = .allocate(capacity: max(1, rows * maxKVWidth))
    }

    deinit {
        [normed, query, attention, gate, up, keys, values].forEach { $0.deallocate() }
    }
}

extension DecoderLayer {
    /// Runs the block in place on hidden [rows × hiddenSize] at positions
    /// startPosition..<startPosition+rows. Keys/values go to `kv` (a cache's layer buffers,
    /// holding startPosition earlier rows) or to scratch when there is no cache.
    /// `segments` (no cache): the rows are several sequences packed together (see `AttentionSegment`).
    /// `stopAfter`: return right after the observer has seen that site (calibration passes that only
    /// need statistics skip the rest of the block; `hidden` is then left partly updated).
    func forward(hidden: UnsafeMutablePointer<Float>, rows: Int, hiddenSize: Int, startPosition: Int,
                 kv: (keys: UnsafeMutablePointer<Float>, values: UnsafeMutablePointer<Float>)?,
                 rope: RotaryEmbedding, eps: Float, scratch s: ForwardScratch,
                 observer: LinearInputObserver? = nil, stopAfter: LinearInputSite? = nil,
                 segments: [AttentionSegment]? = nil) {
        let qWidth = heads * headDim
        let keys = kv?.keys ?? s.keys, values = kv?.values ?? s.values
        let kvBase = kv == nil ? 0 : startPosition
        let newKeys = keys + kvBase * kvWidth, newValues = values + kvBase * kvWidth

        // Attention sub-block.
        inputNorm.withUnsafeBufferPointer { w in
            rmsNorm(hidden, rows: rows, dim: hiddenSize, weight: w.baseAddress!, eps: eps, into: s.normed)
        }
        if heads > 0 {
            observer?(.attentionInput, s.normed, rows, hiddenSize)
            if stopAfter == .attentionInput { return }
            q.apply(s.normed, rows: rows, into: s.query)
            k.apply(s.normed, rows: rows, into: newKeys)
            v.apply(s.normed, rows: rows, into: newValues)
            if let segments {
                // Packed sequences: each segment's rows sit at positions after its prefix.
                for seg in segments where seg.count > 0 {
                    rope.apply(s.query + seg.start * qWidth, rows: seg.count, heads: heads, rowStride: qWidth,
                               startPosition: seg.prefixCount)
                    rope.apply(newKeys + seg.start * kvWidth, rows: seg.count, heads: kvHeads, rowStride: kvWidth,
                               startPosition: seg.prefixCount)
                }
                segmentedCausalAttention(q: s.query, qStride: qWidth, keys: keys, values: values, kvStride: kvWidth,
                                         heads: heads, kvHeads: kvHeads, headDim: headDim, segments: segments,
                                         out: s.attention, outStride: qWidth)
            } else {
                rope.apply(s.query, rows: rows, heads: heads, rowStride: qWidth, startPosition: startPosition)
                rope.apply(newKeys, rows: rows, heads: kvHeads, rowStride: kvWidth, startPosition: startPosition)
                causalAttention(q: s.query, qRows: rows, qStride: qWidth, startPosition: kvBase,
                                keys: keys, values: values, kvStride: kvWidth,
                                heads: heads, kvHeads: kvHeads, headDim: headDim,
                                out: s.attention, outStride: qWidth)
            }
            observer?(.attentionOutput, s.attention, rows, qWidth)
            if stopAfter == .attentionOutput { return }
            o.apply(s.attention, rows: rows, into: hidden, accumulate: true)   // residual fused into GEMM
        }

        // MLP sub-block.
        postAttentionNorm.withUnsafeBufferPointer { w in
            rmsNorm(hidden, rows: rows, dim: hiddenSize, weight: w.baseAddress!, eps: eps, into: s.normed)
        }
        if intermediateSize > 0 {
            observer?(.mlpInput, s.normed, rows, hiddenSize)
            if stopAfter == .mlpInput { return }
            gate.apply(s.normed, rows: rows, into: s.gate)
            up.apply(s.normed, rows: rows, into: s.up)
            swiGLUInPlace(gate: s.gate, up: s.up, count: rows * intermediateSize)
            observer?(.mlpHidden, s.gate, rows, intermediateSize)
            if stopAfter == .mlpHidden { return }
            down.apply(s.gate, rows: rows, into: hidden, accumulate: true)
        }
    }
}
