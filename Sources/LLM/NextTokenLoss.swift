import Compute

extension LanguageModel {
    /// Next-token negative log-likelihood −log p(targets[r] | positions ≤ r) for each row of
    /// final hidden states [rows × hidden] (before the final norm). A target < 0 is skipped (NaN).
    ///
    /// The LM head is applied chunk by chunk, so the full rows × vocab logits matrix is never
    /// materialised (2048 × 49152 floats would be 400 MB); each chunk's log-sum-exp is taken
    /// while it is still in cache.
    public func nextTokenNLL(hidden: [Float], targets: [Int32], chunkRows: Int = 128) -> [Float] {
        let d = headInputSize, v = vocabSize
        let rows = hidden.count / hiddenSize
        precondition(targets.count == rows, "one target per row")
        let normed = finalNormed(hidden)
        var nll = [Float](repeating: .nan, count: rows)
        let logits = UnsafeMutablePointer<Float>.allocate(capacity: chunkRows * v)
        defer { logits.deallocate() }
        normed.withUnsafeBufferPointer { x in
            nll.withUnsafeMutableBufferPointer { out in
                var r0 = 0
                while r0 < rows {
                    let n = min(chunkRows, rows - r0)
                    applyHead(x.baseAddress! + r0 * d, rows: n, into: logits)
                    let o = out.baseAddress!
                    parallelFor(n) { a, b in
                        for i in a..<b {
                            let t = targets[r0 + i]
                            if t < 0 { continue }
                            let row = logits + i * v
                            o[r0 + i] = logSumExp(row, count: v) - row[Int(t)]
                        }
                    }
                    r0 += n
                }
            }
        }
        return nll
    }

    /// Mean next-token loss over the windows (every target of every window weighs the same, as
    /// Hugging Face's `model(tokens, labels=tokens).loss` for one window), all of them in one packed
    /// forward (each window its own attention segment, positions restarting), so every projection
    /// is one large product; the head's logits are formed 128 rows at a time (`nextTokenNLL`).
    public func meanNextTokenLoss(windows: [[Int32]]) throws -> Double {
        var tokens: [Int32] = [], segments: [AttentionSegment] = [], targets: [Int32] = []
        for w in windows where !w.isEmpty {
            segments.append(AttentionSegment(start: tokens.count, count: w.count))
            tokens += w
            targets += Array(w.dropFirst()) + [-1]
        }
        guard !tokens.isEmpty else { return 0 }
        var hidden = try embed(packed: tokens, segments: segments)
        runLayers(packed: &hidden, segments: segments)
        let nll = nextTokenNLL(hidden: hidden, targets: targets)
        var total = 0.0, count = 0
        for (t, v) in zip(targets, nll) where t >= 0 { total += Double(v); count += 1 }
        return total / Double(max(1, count))
    }
}
