import Compute

extension LlamaModel {
    /// The mean next-token cross-entropy of one window — exactly Hugging Face's
    /// `model(tokens, labels=tokens).loss`, positions 0..T−2 predicting tokens 1..T−1 — and
    /// its gradient with respect to every parameter. With a tied head, the head's share is
    /// in `gradients.embedding`.
    public func gradients(tokens: [Int32]) throws -> (loss: Float, gradients: ModelGradients) {
        var g = ModelGradients(like: self)
        let loss = try accumulateGradients(tokens: tokens, into: &g)
        return (loss, g)
    }

    /// Adds scale·∂L/∂θ for one window into `gradients` (so several calibration windows can
    /// be summed, or averaged with scale = 1/windows, in one buffer) and returns L.
    ///
    /// Memory: the activations of every layer over the window (see `DecoderLayerActivations`)
    /// plus one chunk of logits; parameter gradients are added in place, never copied.
    /// Throws `GradientError` before touching `gradients` when the input is unusable.
    public func accumulateGradients(tokens: [Int32], into gradients: inout ModelGradients,
                                    scale: Float = 1) throws -> Float {
        guard tokens.count >= 2 else { throw GradientError.tooFewTokens(count: tokens.count) }
        if let p = tokens.firstIndex(where: { $0 < 0 || Int($0) >= vocabSize }) {
            throw GradientError.tokenOutOfRange(position: p, token: tokens[p], vocabSize: vocabSize)
        }
        if let why = gradients.mismatch(with: self) { throw GradientError.shapeMismatch(why) }

        let rows = tokens.count, d = hiddenSize, eps = config.rmsNormEps
        var hidden = try embed(tokens)
        let maxQ = layers.map { $0.heads * $0.headDim }.max() ?? 0
        let maxKV = layers.map(\.kvWidth).max() ?? 0
        let maxInter = layers.map(\.intermediateSize).max() ?? 0
        let scratch = BackwardScratch(rows: rows, hidden: d, maxQWidth: maxQ, maxKVWidth: maxKV,
                                      maxIntermediate: maxInter)

        // Forward, keeping each layer's activations.
        let activations: [DecoderLayerActivations] = hidden.withUnsafeMutableBufferPointer { hb in
            layers.map { layer in
                layer.forwardRecording(hidden: hb.baseAddress!, rows: rows, hiddenSize: d, rope: rope, eps: eps,
                                       normed: scratch.normed, product: scratch.product)
            }
        }

        // Head and loss; then the final norm. `hiddenGradient` is ∂(scale·L)/∂(residual stream).
        let normed = finalNormed(hidden)
        var hiddenGradient = [Float](repeating: 0, count: rows * d)
        var sumNLL: Double = 0
        normed.withUnsafeBufferPointer { nb in
            let headGradient: (UnsafeMutablePointer<Float>) -> Void = { dW in
                sumNLL = self.nextTokenLossBackward(normed: nb.baseAddress!, tokens: tokens, scale: scale,
                                                    normedGradient: scratch.normedGradient, headGradient: dW)
            }
            if gradients.lmHead != nil {
                gradients.lmHead!.withUnsafeMutableBufferPointer { headGradient($0.baseAddress!) }
            } else {
                gradients.embedding.withUnsafeMutableBufferPointer { headGradient($0.baseAddress!) }
            }
        }
        hidden.withUnsafeBufferPointer { hb in
            hiddenGradient.withUnsafeMutableBufferPointer { gb in
                finalNorm.withUnsafeBufferPointer { w in
                    gradients.finalNorm.withUnsafeMutableBufferPointer { gw in
                        rmsNormBackward(hb.baseAddress!, rows: rows, dim: d, weight: w.baseAddress!, eps: eps,
                                        outputGradient: scratch.normedGradient,
                                        addingInputGradientTo: gb.baseAddress!,
                                        addingWeightGradientTo: gw.baseAddress!)
                    }
                }
            }
        }

        // Layers in reverse.
        let angles = RotaryAngles(rope, rows: rows)
        hiddenGradient.withUnsafeMutableBufferPointer { gb in
            for i in layers.indices.reversed() {
                layers[i].backward(hiddenGradient: gb.baseAddress!, activations: activations[i], hiddenSize: d,
                                   rope: rope, angles: angles, eps: eps, scratch: scratch, into: &gradients.layers[i])
            }
        }

        // Embedding: a row lookup, so each position's gradient is added to its token's row.
        gradients.embedding.withUnsafeMutableBufferPointer { ge in
            for (r, t) in tokens.enumerated() {
                let dst = ge.baseAddress! + Int(t) * d
                for j in 0..<d { dst[j] += hiddenGradient[r * d + j] }
            }
        }
        return Float(sumNLL / Double(rows - 1))
    }
}
