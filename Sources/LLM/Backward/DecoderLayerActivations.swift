import Compute

/// What one decoder layer's backward pass needs from its forward over a window of `rows`
/// positions (starting at position 0): the tensors that cannot be recomputed cheaply.
/// The two RMSNorm outputs and silu(gate)·up are recomputed in the backward from
/// `input`, `mid` and `gate`/`up` (elementwise, negligible next to the GEMMs), and attention
/// probabilities per head are recomputed from the saved rotated queries and keys.
/// Per layer this holds rows × (2·hidden + 2·qWidth + 2·kvWidth + 2·intermediate) floats
/// (SmolLM2-135M: 5760 floats per position, 5.9 MB per layer at 256 positions).
final class DecoderLayerActivations {
    let rows: Int
    let input: UnsafeMutablePointer<Float>       // x, the layer input          [rows × hidden]
    let query: UnsafeMutablePointer<Float>       // RoPE(W_q·norm(x) + b_q)     [rows × qWidth]
    let keys: UnsafeMutablePointer<Float>        // RoPE(W_k·norm(x) + b_k)     [rows × kvWidth]
    let values: UnsafeMutablePointer<Float>      // W_v·norm(x) + b_v           [rows × kvWidth]
    let attention: UnsafeMutablePointer<Float>   // heads' outputs, o's input  [rows × qWidth]
    let mid: UnsafeMutablePointer<Float>         // h = x + W_o·attention       [rows × hidden]
    let gate: UnsafeMutablePointer<Float>        // W_gate·norm(h), before silu [rows × intermediate]
    let up: UnsafeMutablePointer<Float>          // W_up·norm(h)                [rows × intermediate]

    init(rows: Int, hidden: Int, qWidth: Int, kvWidth: Int, intermediate: Int) {
        self.rows = rows
        func buffer(_ n: Int) -> UnsafeMutablePointer<Float> { .allocate(capacity: max(1, n)) }
        input = buffer(rows * hidden); mid = buffer(rows * hidden)
        query = buffer(rows * qWidth); attention = buffer(rows * qWidth)
        keys = buffer(rows * kvWidth); values = buffer(rows * kvWidth)
        gate = buffer(rows * intermediate); up = buffer(rows * intermediate)
    }

    deinit { [input, query, keys, values, attention, mid, gate, up].forEach { $0.deallocate() } }
}

extension DecoderLayer {
    /// The forward of `DecoderLayer.forward` (same kernels, same order, so the same numbers)
    /// over positions 0..<rows without a cache, in place on `hidden`, keeping the activations
    /// its backward needs. `normed` and `product` are scratch of rows × hidden and
    /// rows × intermediate floats.
    func forwardRecording(hidden: UnsafeMutablePointer<Float>, rows: Int, hiddenSize: Int,
                          rope: RotaryEmbedding, eps: Float,
                          normed: UnsafeMutablePointer<Float>, product: UnsafeMutablePointer<Float>) -> DecoderLayerActivations {
        let qWidth = heads * headDim
        let a = DecoderLayerActivations(rows: rows, hidden: hiddenSize, qWidth: qWidth, kvWidth: kvWidth,
                                        intermediate: intermediateSize)
        a.input.update(from: hidden, count: rows * hiddenSize)
        if heads > 0 {
            inputNorm.withUnsafeBufferPointer { w in
                rmsNorm(hidden, rows: rows, dim: hiddenSize, weight: w.baseAddress!, eps: eps, into: normed)
            }
            q.apply(normed, rows: rows, into: a.query)
            k.apply(normed, rows: rows, into: a.keys)
            v.apply(normed, rows: rows, into: a.values)
            rope.apply(a.query, rows: rows, heads: heads, rowStride: qWidth, startPosition: 0)
            rope.apply(a.keys, rows: rows, heads: kvHeads, rowStride: kvWidth, startPosition: 0)
            causalAttention(q: a.query, qRows: rows, qStride: qWidth, startPosition: 0,
                            keys: a.keys, values: a.values, kvStride: kvWidth,
                            heads: heads, kvHeads: kvHeads, headDim: headDim,
                            out: a.attention, outStride: qWidth)
            o.apply(a.attention, rows: rows, into: hidden, accumulate: true)
        }
        a.mid.update(from: hidden, count: rows * hiddenSize)
        if intermediateSize > 0 {
            postAttentionNorm.withUnsafeBufferPointer { w in
                rmsNorm(hidden, rows: rows, dim: hiddenSize, weight: w.baseAddress!, eps: eps, into: normed)
            }
            gate.apply(normed, rows: rows, into: a.gate)
            up.apply(normed, rows: rows, into: a.up)
            product.update(from: a.gate, count: rows * intermediateSize)
            swiGLUInPlace(gate: product, up: a.up, count: rows * intermediateSize)
            down.apply(product, rows: rows, into: hidden, accumulate: true)
        }
        return a
    }
}
