import Compute

extension LlamaModel {
    /// Adds ∂L/∂θ of one sequence's loss (`SequenceObjective`; for a plain window with weight
    /// 1/(T−1), exactly Hugging Face's `model(tokens, labels=tokens).loss`) into `gradients`
    /// (so windows can be summed, or averaged, in one buffer) and returns the loss's sums.
    /// Only the parameters `gradients` holds get a gradient (frozen ones are skipped). With a
    /// tied head, the head's share is in the embedding's gradient.
    ///
    /// Memory: the activations of every layer over the window (see `LlamaBlockActivations`)
    /// plus one chunk of logits; parameter gradients are added in place, never copied.
    /// Throws `GradientError` before touching `gradients` when the input is unusable.
    public func accumulateGradients(tokens: [Int32], objective: SequenceObjective,
                                    into gradients: inout ModelGradients) throws -> ObjectiveSums {
        try accumulateGradients(tokens: tokens, objective: objective, segments: nil, into: &gradients)
    }

    /// Several sequences in one pass: their rows packed, so every projection runs as one GEMM
    /// over the whole micro-batch (a 256-row window alone leaves the GEMMs ~30 % slower);
    /// attention and positions stay per sequence. The sum of the sequences' losses, exactly.
    public func accumulateGradients(batch: [TrainingExample], weight: Float, distillation: Distillation?,
                                    into gradients: inout ModelGradients) throws -> ObjectiveSums {
        guard batch.count > 1 else {
            return try batch.map { e in
                try accumulateGradients(tokens: e.tokens, objective: SequenceObjective(labels: e.labels, weight: weight,
                                                                                     distillation: distillation), into: &gradients)
            }.reduce(into: ObjectiveSums()) { $0 += $1 }
        }
        let packed = PackedExamples(batch)
        return try accumulateGradients(tokens: packed.tokens, objective: SequenceObjective(labels: packed.labels, weight: weight,
                                                                                             distillation: distillation),
                                       segments: packed.segments, into: &gradients)
    }

    private func accumulateGradients(tokens: [Int32], objective: SequenceObjective, segments: [AttentionSegment]?,
                                     into gradients: inout ModelGradients) throws -> ObjectiveSums {
        try checkGradientInputs(tokens: tokens, objective: objective, gradients: gradients)

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
                              rope: rope, eps: eps, scratch: forwardScratch, record: a, segments: segments)
                return a
            }
        }

        let normed = finalNormed(hidden)
        var hiddenGradient = [Float](repeating: 0, count: rows * d)
        let headName = lmHead == nil ? LlamaTensorNames.embedding.hf : LlamaTensorNames.head.hf
        var sums = ObjectiveSums()
        try gradients.withPointers { gradient in
            // Head and loss; then the final norm. `hiddenGradient` is ∂(scale·L)/∂(residual stream).
            try normed.withUnsafeBufferPointer { nb in
                sums = try nextTokenLossBackward(normed: nb.baseAddress!, tokens: tokens, objective: objective,
                                                 normedGradient: scratch.normedGradient, headGradient: gradient(headName),
                                                 segments: segments)
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
            let angles = RotaryAngles(rope, rows: segments?.map(\.count).max() ?? rows)
            hiddenGradient.withUnsafeMutableBufferPointer { gb in
                for i in layers.indices.reversed() {
                    layers[i].backward(hiddenGradient: gb.baseAddress!, activations: activations[i], hiddenSize: d,
                                       rope: rope, angles: angles, eps: eps, scratch: scratch, layer: i, gradient: gradient,
                                       segments: segments)
                }
            }

            // Embedding: a row lookup, so each position's gradient is added to its token's row.
            guard let ge = gradient(LlamaTensorNames.embedding.hf) else { return }
            for (r, t) in tokens.enumerated() {
                let dst = ge + Int(t) * d
                for j in 0..<d { dst[j] += hiddenGradient[r * d + j] }
            }
        }
        return sums
    }
}
