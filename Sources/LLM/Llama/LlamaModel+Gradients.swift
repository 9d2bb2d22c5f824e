import Compute

extension LlamaModel {
    /// Adds scale·∂L/∂θ for one window into `gradients` (so several calibration windows can
    /// be summed, or averaged with scale = 1/windows, in one buffer) and returns L, the mean
    /// next-token cross-entropy — exactly Hugging Face's `model(tokens, labels=tokens).loss`,
    /// positions 0..T−2 predicting tokens 1..T−1. With a tied head, the head's share is in the
    /// embedding's gradient.
    ///
    /// Memory: the activations of every layer over the window (see `LlamaBlockActivations`)
    /// plus one chunk of logits; parameter gradients are added in place, never copied.
    /// Throws `GradientError` before touching `gradients` when the input is unusable.
    public func accumulateGradients(tokens: [Int32], into gradients: inout ModelGradients,
                                    scale: Float) throws -> Float {
        try checkGradientInputs(tokens: tokens, gradients: gradients)

        let rows = tokens.count, d = hiddenSize, eps = config.rmsNormEps
        var hidden = try embed(tokens)
        let shapes = layers.map(\.shape)
        let forwardScratch = makeScratch(rows: rows)
        let scratch = BackwardScratch(rows: rows, hidden: d, shapes: shapes)

        // Forward, keeping each layer's activations.
        let activations: [LlamaBlockActivations] = hidden.withUnsafeMutableBufferPointer { hb in
            layers.map { layer in
                let a = LlamaBlockActivations(rows: rows, hidden: d, shape: layer.shape)
                layer.forward(hidden: hb.baseAddress!, rows: rows, hiddenSize: d, startPosition: 0, kv: nil,
                              rope: rope, eps: eps, scratch: forwardScratch, record: a)
                return a
            }
        }

        let normed = finalNormed(hidden)
        var hiddenGradient = [Float](repeating: 0, count: rows * d)
        let headName = lmHead == nil ? LlamaTensorNames.embedding.hf : LlamaTensorNames.head.hf
        var sumNLL: Double = 0
        gradients.withPointers { gradient in
            // Head and loss; then the final norm. `hiddenGradient` is ∂(scale·L)/∂(residual stream).
            normed.withUnsafeBufferPointer { nb in
                sumNLL = nextTokenLossBackward(normed: nb.baseAddress!, tokens: tokens, scale: scale,
                                               normedGradient: scratch.normedGradient, headGradient: gradient(headName))
            }
            hidden.withUnsafeBufferPointer { hb in
                hiddenGradient.withUnsafeMutableBufferPointer { gb in
                    finalNorm.withUnsafeBufferPointer { w in
                        rmsNormBackward(hb.baseAddress!, rows: rows, dim: d, weight: w.baseAddress!, eps: eps,
                                        outputGradient: scratch.normedGradient,
                                        addingInputGradientTo: gb.baseAddress!,
                                        addingWeightGradientTo: gradient(LlamaTensorNames.finalNorm.hf))
                    }
                }
            }

            // Layers in reverse.
            let angles = RotaryAngles(rope, rows: rows)
            hiddenGradient.withUnsafeMutableBufferPointer { gb in
                for i in layers.indices.reversed() {
                    layers[i].backward(hiddenGradient: gb.baseAddress!, activations: activations[i], hiddenSize: d,
                                       rope: rope, angles: angles, eps: eps, scratch: scratch, layer: i, gradient: gradient)
                }
            }

            // Embedding: a row lookup, so each position's gradient is added to its token's row.
            let ge = gradient(LlamaTensorNames.embedding.hf)
            for (r, t) in tokens.enumerated() {
                let dst = ge + Int(t) * d
                for j in 0..<d { dst[j] += hiddenGradient[r * d + j] }
            }
        }
        return Float(sumNLL / Double(rows - 1))
    }
}
