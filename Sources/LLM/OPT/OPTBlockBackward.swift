import Compute

/// What an OPT block's backward needs from its forward over a window of `rows` positions
/// (from position 0). The LayerNorm outputs are recomputed from the sums they normalise;
/// attention probabilities are recomputed from the saved queries and keys.
/// Per block: rows × (3·hidden + 4·width + ffn) floats.
final class OPTBlockActivations {
    let rows: Int
    let input: UnsafeMutablePointer<Float>      // x, the block input                    [rows × hidden]
    let query: UnsafeMutablePointer<Float>      // W_q·a + b_q (unscaled)                [rows × width]
    let keys: UnsafeMutablePointer<Float>       // W_k·a + b_k                           [rows × width]
    let values: UnsafeMutablePointer<Float>     // W_v·a + b_v                           [rows × width]
    let attention: UnsafeMutablePointer<Float>  // heads' outputs, out_proj's input      [rows × width]
    let mid: UnsafeMutablePointer<Float>        // x + W_out·attention + b_out (before LN₁ when post-LN) [rows × hidden]
    let mlpHidden: UnsafeMutablePointer<Float>  // relu(W_fc1·m + b_fc1), fc2's input     [rows × ffn]
    let output: UnsafeMutablePointer<Float>     // h + W_fc2·… + b_fc2 (before LN₂ when post-LN) [rows × hidden]

    init(rows: Int, hidden: Int, shape: BlockShape) {
        self.rows = rows
        func buffer(_ n: Int) -> UnsafeMutablePointer<Float> { .allocate(capacity: max(1, n)) }
        input = buffer(rows * hidden); mid = buffer(rows * hidden); output = buffer(rows * hidden)
        query = buffer(rows * shape.queryWidth); keys = buffer(rows * shape.queryWidth)
        values = buffer(rows * shape.queryWidth); attention = buffer(rows * shape.queryWidth)
        mlpHidden = buffer(rows * shape.intermediateSize)
    }

    deinit { [input, query, keys, values, attention, mid, mlpHidden, output].forEach { $0.deallocate() } }
}

extension LayerNormWeights {
    /// Backward of `apply`: adds ∂L/∂x into dX and the affine's gradients under `name`.
    func backward(_ x: UnsafePointer<Float>, rows: Int, dim: Int, outputGradient dY: UnsafePointer<Float>,
                  addingInputGradientTo dX: UnsafeMutablePointer<Float>, name: String,
                  gradient: GradientLookup) {
        let dW = weight == nil ? nil : gradient(name + ".weight"), dB = bias == nil ? nil : gradient(name + ".bias")
        func with(_ a: [Float]?, _ body: (UnsafePointer<Float>?) -> Void) {
            guard let a else { return body(nil) }
            a.withUnsafeBufferPointer { body($0.baseAddress!) }
        }
        with(weight) { w in
            layerNormBackward(x, rows: rows, dim: dim, weight: w, eps: eps, outputGradient: dY,
                              addingInputGradientTo: dX, addingWeightGradientTo: dW, addingBiasGradientTo: dB)
        }
    }
}

extension OPTBlock {
    /// Backward of the block (see `OPTBlock`), in reverse order of the forward. Pre-LN:
    ///   y = h + fc2(relu(fc1(LN₂(h)))),  h = x + out(Attention(q, k, v of LN₁(x)))
    /// Post-LN (350m):
    ///   y = LN₂(s₂), s₂ = h + fc2(relu(fc1(h))),  h = LN₁(s₁), s₁ = x + out(Attention(q, k, v of x))
    /// `hiddenGradient` holds ∂L/∂y on entry and ∂L/∂x on return. A post-LN norm sits on the
    /// residual stream itself, so there the gradient is replaced by the norm's input gradient
    /// rather than added to. Each projection's bias gradient is the column sum of its output
    /// gradient (`Linear.backward`).
    func backward(hiddenGradient dH: UnsafeMutablePointer<Float>, activations a: OPTBlockActivations,
                  hiddenSize d: Int, scratch s: BackwardScratch, layer: Int,
                  gradient: GradientLookup) {
        let prefix = OPTTensorNames.layer(layer)
        func g(_ p: Projection) -> LinearGradientPointers {
            LinearGradientPointers(prefix + OPTTensorNames.module(p), self[p], gradient)
        }
        let rows = a.rows, inter = fc1.outFeatures, width = heads * headDim
        /// Post-LN: dH ← LN backward of the sum `x` given dH (the norm's output gradient).
        func throughPostNorm(_ norm: LayerNormWeights, _ x: UnsafePointer<Float>, _ name: String) {
            s.sumGradient.initialize(repeating: 0, count: rows * d)
            norm.backward(x, rows: rows, dim: d, outputGradient: dH, addingInputGradientTo: s.sumGradient,
                          name: prefix + name, gradient: gradient)
            dH.update(from: s.sumGradient, count: rows * d)
        }

        // MLP branch.
        if !normBefore { throughPostNorm(mlpNorm, a.output, OPTTensorNames.mlpNorm) }
        if inter > 0 {
            // Its input m: LN₂(h) (pre-LN) or h = LN₁(s₁) (post-LN), recomputed.
            (normBefore ? mlpNorm : attentionNorm).apply(a.mid, rows: rows, dim: d, into: s.normed)
            fc2.backward(outputGradient: dH, input: a.mlpHidden, rows: rows,
                         inputGradient: s.gateGradient, accumulateInput: false, into: g(.down))
            reluBackward(output: a.mlpHidden, gradient: s.gateGradient, count: rows * inter)
            if normBefore {
                fc1.backward(outputGradient: s.gateGradient, input: s.normed, rows: rows,
                             inputGradient: s.normedGradient, accumulateInput: false, into: g(.up))
                mlpNorm.backward(a.mid, rows: rows, dim: d, outputGradient: s.normedGradient, addingInputGradientTo: dH,
                                 name: prefix + OPTTensorNames.mlpNorm, gradient: gradient)
            } else {
                fc1.backward(outputGradient: s.gateGradient, input: s.normed, rows: rows,
                             inputGradient: dH, accumulateInput: true, into: g(.up))
            }
        }

        // Attention branch: dH holds ∂L/∂h.
        if !normBefore { throughPostNorm(attentionNorm, a.mid, OPTTensorNames.attentionNorm) }
        if heads > 0 {
            o.backward(outputGradient: dH, input: a.attention, rows: rows,
                       inputGradient: s.attentionGradient, accumulateInput: false, into: g(.o))
            causalAttentionBackward(q: a.query, keys: a.keys, values: a.values,
                                    outputGradient: s.attentionGradient, rows: rows, qStride: width, kvStride: width,
                                    heads: heads, kvHeads: heads, headDim: headDim,
                                    queryGradient: s.queryGradient, keyGradient: s.keyGradient,
                                    valueGradient: s.valueGradient)
            // Its input: LN₁(x) (pre-LN) or x (post-LN).
            let input: UnsafePointer<Float>
            if normBefore {
                attentionNorm.apply(a.input, rows: rows, dim: d, into: s.normed)
                input = UnsafePointer(s.normed)
            } else {
                input = UnsafePointer(a.input)
            }
            let inputGradient = normBefore ? s.normedGradient : dH
            q.backward(outputGradient: s.queryGradient, input: input, rows: rows,
                       inputGradient: inputGradient, accumulateInput: !normBefore, into: g(.q))
            k.backward(outputGradient: s.keyGradient, input: input, rows: rows,
                       inputGradient: inputGradient, accumulateInput: true, into: g(.k))
            v.backward(outputGradient: s.valueGradient, input: input, rows: rows,
                       inputGradient: inputGradient, accumulateInput: true, into: g(.v))
            if normBefore {
                attentionNorm.backward(a.input, rows: rows, dim: d, outputGradient: s.normedGradient,
                                       addingInputGradientTo: dH, name: prefix + OPTTensorNames.attentionNorm,
                                       gradient: gradient)
            }
        }
    }
}
