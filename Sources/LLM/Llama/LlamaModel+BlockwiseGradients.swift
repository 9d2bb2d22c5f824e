import Compute

extension LlamaModel {
    /// Per-window gradients of the mean next-token loss with respect to one block's parameters
    /// at a time, walking the blocks from the top, so that a model whose blocks are streamed
    /// (`residency`) holds one block and never all parameters' gradients (DESIGN.md §11).
    ///
    /// 1. Forward over every window, block by block from the bottom, keeping each block's input
    ///    (the checkpoints: windows × layers × rows × hidden floats).
    /// 2. The head's loss backward and the final norm's give ∂L/∂(last block output) per window.
    /// 3. For i from the top down to `lowestLayer`: block i is recomputed from its checkpoint
    ///    with its activations recorded, and its backward turns ∂L/∂(output) into ∂L/∂(input);
    ///    where `needsGradient(i)`, its parameters' gradients go into a buffer of block i's
    ///    tensors alone (zeroed per window) that `window(i, g)` sees; `blockDone(i)` follows
    ///    the last window, while the block is still loaded.
    /// Each window's gradients are exactly those `accumulateGradients(tokens:into:)` gives the
    /// same parameters (the same operations in the same order).
    public func blockwiseGradients(windows: [[Int32]], residency: LayerResidency?, lowestLayer: Int,
                                   needsGradient: (Int) -> Bool,
                                   window visit: (_ layer: Int, _ gradient: ModelGradients) throws -> Void,
                                   blockDone: (_ layer: Int) throws -> Void) throws {
        let n = layers.count, d = hiddenSize, eps = config.rmsNormEps
        precondition(lowestLayer >= 0 && lowestLayer < n)
        for w in windows {
            try checkGradientInputs(tokens: w, objective: .window(w), gradients: ModelGradients(tensors: [], partial: true))
        }

        // 1. Checkpoints: the input of every block for every window (the last entry: the top output).
        var checkpoints: [[[Float]]] = try windows.map { [try embed($0)] }
        for i in 0..<n {
            try residency?.load(i)
            for k in checkpoints.indices {
                var h = checkpoints[k][i]
                try runLayers(i..<(i + 1), hidden: &h)
                checkpoints[k].append(h)
            }
            if i < n - 1 { residency?.release(i) }   // the top block is the first one needed again
        }

        // 2. ∂L/∂(top output) per window through the head and the final norm (their own
        //    parameters' gradients are not asked for).
        // Scratch is sized by the window length: made once per length, not per window and block.
        var backwardScratches: [Int: BackwardScratch] = [:]
        func backwardScratch(_ rows: Int) -> BackwardScratch {
            if let s = backwardScratches[rows] { return s }
            let s = BackwardScratch(rows: rows, hidden: d, shapes: layers.map(\.shape))
            backwardScratches[rows] = s
            return s
        }
        var forwardScratches: [Int: ForwardScratch] = [:]
        func forwardScratch(_ rows: Int) -> ForwardScratch {
            if let s = forwardScratches[rows] { return s }
            let s = makeScratch(rows: rows)
            forwardScratches[rows] = s
            return s
        }
        var hiddenGradients: [[Float]] = []
        for (k, tokens) in windows.enumerated() {
            let rows = tokens.count
            let scratch = backwardScratch(rows)
            let top = checkpoints[k][n]
            let normed = finalNormed(top)
            var g = [Float](repeating: 0, count: rows * d)
            _ = try normed.withUnsafeBufferPointer { nb in
                try nextTokenLossBackward(normed: nb.baseAddress!, tokens: tokens, objective: .window(tokens),
                                          normedGradient: scratch.normedGradient, headGradient: nil, segments: nil)
            }
            top.withUnsafeBufferPointer { hb in
                g.withUnsafeMutableBufferPointer { gb in
                    finalNorm.withUnsafeBufferPointer { w in
                        rmsNormBackward(hb.baseAddress!, rows: rows, dim: d, weight: w.baseAddress!, eps: eps,
                                        outputGradient: scratch.normedGradient, addingInputGradientTo: gb.baseAddress!,
                                        addingWeightGradientTo: nil)
                    }
                }
            }
            hiddenGradients.append(g)
            checkpoints[k].removeLast()
        }

        // 3. Down the blocks.
        for i in stride(from: n - 1, through: lowestLayer, by: -1) {
            try residency?.load(i)
            let layer = layers[i]
            var gradient = ModelGradients(tensors: needsGradient(i) ? parameters.filter { $0.role.layer == i } : [], partial: true)
            for k in windows.indices {
                let rows = windows[k].count
                let forwardScratch = forwardScratch(rows), scratch = backwardScratch(rows)
                let a = LlamaBlockActivations(rows: rows, hidden: d, shape: layer.shape)
                var h = checkpoints[k][i]
                h.withUnsafeMutableBufferPointer { hb in
                    _ = layer.forward(hidden: hb.baseAddress!, rows: rows, hiddenSize: d, startPosition: 0, kv: nil,
                                      rope: rope, eps: eps, scratch: forwardScratch, record: a, segments: nil)
                }
                checkpoints[k][i] = []
                gradient.setZero()
                let angles = RotaryAngles(rope, rows: rows)
                gradient.withPointers { lookup in
                    hiddenGradients[k].withUnsafeMutableBufferPointer { gb in
                        layer.backward(hiddenGradient: gb.baseAddress!, activations: a, hiddenSize: d, rope: rope,
                                       angles: angles, eps: eps, scratch: scratch, layer: i, gradient: lookup, segments: nil)
                    }
                }
                try visit(i, gradient)
            }
            try blockDone(i)
            residency?.release(i)
        }
    }
}
