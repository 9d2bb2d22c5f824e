import Compute

extension OPTModel {
    /// Adds ∂L/∂θ of one sequence's loss (`SequenceObjective`; for a plain window,
    /// transformers' `model(ids, labels=ids).loss`) into the parameters `gradients` holds and
    /// returns the loss's sums; see `LanguageModel`.
    /// The forward, with every block's activations recorded, then its reverse:
    ///   words = E[t] (→ project_in), x₀ = words + P[p + 2], blocks, n = LN_final(x_L) (pre-LN only),
    ///   z = project_out(n), logits = z·Eᵀ
    /// The tied head's gradient lands in E's, beside the lookup's; position p's gradient in
    /// row p + 2 of P.
    public func accumulateGradients(tokens: [Int32], objective: SequenceObjective,
                                    into gradients: inout ModelGradients) throws -> ObjectiveSums {
        try checkGradientInputs(tokens: tokens, objective: objective, gradients: gradients)
        let rows = tokens.count, d = hiddenSize, e = config.wordEmbedProjDim
        guard rows <= maxPositions else { throw LLMError.contextTooLong(requested: rows, capacity: maxPositions) }

        // Forward, keeping each block's activations.
        let words: [Float] = tokens.flatMap { embedding[Int($0) * e..<(Int($0) + 1) * e] }
        var hidden = try embed(tokens, startPosition: 0)
        let forwardScratch = makeScratch(rows: rows)
        let scratch = BackwardScratch(rows: rows, hidden: d, shapes: blockShapes)
        let activations: [OPTBlockActivations] = hidden.withUnsafeMutableBufferPointer { hb in
            layers.map { layer in
                let a = OPTBlockActivations(rows: rows, hidden: d, shape: layer.shape)
                layer.forward(hidden: hb.baseAddress!, rows: rows, hiddenSize: d, startPosition: 0, kv: nil,
                              scratch: forwardScratch, record: a)
                return a
            }
        }
        var normed = hidden
        if let finalNorm {
            hidden.withUnsafeBufferPointer { h in
                normed.withUnsafeMutableBufferPointer { o in finalNorm.apply(h.baseAddress!, rows: rows, dim: d, into: o.baseAddress!) }
            }
        }
        let headInput = finalNormed(hidden)   // project_out(n): what the tied head reads

        var headInputGradient = [Float](repeating: 0, count: rows * e)
        var hiddenGradient = [Float](repeating: 0, count: rows * d)
        var sums = ObjectiveSums()
        try gradients.withPointers { gradient in
            // Head and loss, project_out, the final norm: ∂(scale·L)/∂x_L into `hiddenGradient`.
            try headInput.withUnsafeBufferPointer { z in
                try headInputGradient.withUnsafeMutableBufferPointer { dz in
                    sums = try nextTokenLossBackward(normed: z.baseAddress!, tokens: tokens, objective: objective,
                                                     normedGradient: dz.baseAddress!, headGradient: gradient(OPTTensorNames.embedding))
                }
            }
            let normedGradient = projectOut.map {
                $0.backward(outputGradient: headInputGradient, input: normed,
                            into: LinearGradientPointers(weight: gradient(OPTTensorNames.projectOut), bias: nil))
            } ?? headInputGradient
            if let finalNorm {
                hidden.withUnsafeBufferPointer { h in
                    normedGradient.withUnsafeBufferPointer { dn in
                        hiddenGradient.withUnsafeMutableBufferPointer { dh in
                            finalNorm.backward(h.baseAddress!, rows: rows, dim: d, outputGradient: dn.baseAddress!,
                                               addingInputGradientTo: dh.baseAddress!, name: OPTTensorNames.finalNorm,
                                               gradient: gradient)
                        }
                    }
                }
            } else {
                hiddenGradient = normedGradient
            }

            // Blocks in reverse.
            hiddenGradient.withUnsafeMutableBufferPointer { gb in
                for i in layers.indices.reversed() {
                    layers[i].backward(hiddenGradient: gb.baseAddress!, activations: activations[i], hiddenSize: d,
                                       scratch: scratch, layer: i, gradient: gradient)
                }
            }

            // Positions (rows p + 2), project_in, then the word-embedding lookup rows.
            if let gp = gradient(OPTTensorNames.positions) {
                for r in 0..<rows {
                    let dst = gp + (r + OPTTensorNames.positionOffset) * d
                    for j in 0..<d { dst[j] += hiddenGradient[r * d + j] }
                }
            }
            let wordGradient = projectIn.map {
                $0.backward(outputGradient: hiddenGradient, input: words,
                            into: LinearGradientPointers(weight: gradient(OPTTensorNames.projectIn), bias: nil))
            } ?? hiddenGradient
            guard let ge = gradient(OPTTensorNames.embedding) else { return }
            for (r, t) in tokens.enumerated() {
                // nn.Embedding(padding_idx = pad_token_id): a lookup of the pad row passes no
                // gradient to it (the tied head's share still does).
                if let pad = config.padTokenID, Int(t) == pad { continue }
                let dst = ge + Int(t) * e
                for j in 0..<e { dst[j] += wordGradient[r * e + j] }
            }
        }
        return sums
    }
}
