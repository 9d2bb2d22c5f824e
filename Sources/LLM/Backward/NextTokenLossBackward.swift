import Compute

extension LanguageModel {
    /// Forward and backward of the LM head and the mean next-token cross-entropy
    ///   L = (1/N) Σ_{r<N} [ logsumexp(z_r) − z_r[t_{r+1}] ],  z_r = W_head·n_r,  N = T − 1
    /// (Hugging Face's `model(ids, labels=ids).loss`), scaled by `scale`:
    ///   ∂(scale·L)/∂z_r = scale/N · (softmax(z_r) − onehot(t_{r+1}))
    ///   ∂/∂n_r = that · W_head      ∂/∂W_head += Σ_r thatᵀ · n_r
    /// The last position predicts nothing, so its gradient row is 0.
    ///
    /// Like `nextTokenNLL`, logits are formed chunk by chunk (rows × vocab is never held
    /// whole); each chunk's logits are turned into their gradient in place.
    /// Returns Σ_r NLL_r (unscaled, summed in Double); writes `normedGradient` [T × hidden]
    /// and adds the head's gradient into `headGradient` [vocab × hidden].
    func nextTokenLossBackward(normed: UnsafePointer<Float>, tokens: [Int32], scale: Float,
                               normedGradient dN: UnsafeMutablePointer<Float>,
                               headGradient dW: UnsafeMutablePointer<Float>, chunkRows: Int = 128) -> Double {
        let d = headInputSize, v = vocabSize
        let predicted = tokens.count - 1
        let coefficient = scale / Float(predicted)
        let chunk = min(chunkRows, predicted)
        let logits = UnsafeMutablePointer<Float>.allocate(capacity: chunk * v)
        var nll = [Double](repeating: 0, count: predicted)
        defer { logits.deallocate() }
        var r0 = 0
        while r0 < predicted {
            let n = min(chunk, predicted - r0)
            withHeadWeights { w in
                BLAS.linear(normed + r0 * d, rows: n, inFeatures: d, weight: w, outFeatures: v, into: logits)
            }
            nll.withUnsafeMutableBufferPointer { out in
                let o = out.baseAddress!
                parallelFor(n) { a, b in
                    for i in a..<b {
                        let target = Int(tokens[r0 + i + 1])
                        let row = logits + i * v
                        let lse = logSumExp(row, count: v)
                        o[r0 + i] = Double(lse - row[target])
                        let shift = SIMD8<Float>(repeating: lse), c = SIMD8<Float>(repeating: coefficient)
                        var j = 0
                        while j + 8 <= v {
                            let z = UnsafeRawPointer(row + j).loadUnaligned(as: SIMD8<Float>.self)
                            UnsafeMutableRawPointer(row + j).storeBytes(of: c * fastExp(z - shift), as: SIMD8<Float>.self)
                            j += 8
                        }
                        while j < v { row[j] = coefficient * fastExp(row[j] - lse); j += 1 }
                        row[target] -= coefficient
                    }
                }
            }
            withHeadWeights { w in
                BLAS.linearInputGradient(logits, rows: n, outFeatures: v, weight: w, inFeatures: d,
                                         into: dN + r0 * d, accumulate: false)
            }
            BLAS.linearWeightGradient(logits, rows: n, outFeatures: v, input: normed + r0 * d, inFeatures: d, into: dW)
            r0 += n
        }
        (dN + predicted * d).initialize(repeating: 0, count: d)
        return nll.reduce(0, +)
    }
}
