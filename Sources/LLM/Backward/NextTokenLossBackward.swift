import Foundation
import Compute

extension LanguageModel {
    /// Forward and backward of the LM head and a sequence's loss (`SequenceObjective`): with
    /// z_r = W_head·n_r and c = objective.weight, for each labelled position r
    ///   ∂L/∂z_r = c · [ (1 − w)·(softmax(z_r) − onehot(target_r)) + w·τ·(softmax(z_r/τ) − p_t,r) ]
    ///   ∂L/∂n_r = that · W_head      ∂L/∂W_head += Σ_r thatᵀ · n_r
    /// (w = 0 without distillation: the plain next-token cross-entropy). Unlabelled positions,
    /// and the last one, which predicts nothing, get a zero gradient row.
    ///
    /// Like `nextTokenNLL`, logits are formed chunk by chunk (rows × vocab is never held
    /// whole, the teacher's neither); each chunk's logits are turned into their gradient in
    /// place. Writes `normedGradient` [T × headInput]; adds the head's gradient into
    /// `headGradient` [vocab × headInput] unless it is nil (a frozen head).
    func nextTokenLossBackward(normed: UnsafePointer<Float>, tokens: [Int32], objective: SequenceObjective,
                               normedGradient dN: UnsafeMutablePointer<Float>,
                               headGradient dW: UnsafeMutablePointer<Float>?, segments: [AttentionSegment]? = nil,
                               chunkRows: Int = 128) throws -> ObjectiveSums {
        let d = headInputSize, v = vocabSize
        let predicted = tokens.count - 1
        let c = objective.weight
        let chunk = min(chunkRows, predicted)
        let logits = UnsafeMutablePointer<Float>.allocate(capacity: chunk * v)
        defer { logits.deallocate() }

        // The teacher's head input for the whole window (small: rows × its width); its logits
        // come chunk by chunk below.
        let kd = objective.distillation
        var teacherNormed: [Float] = []
        var teacherLogits: UnsafeMutablePointer<Float>? = nil
        if let kd {
            var h: [Float]
            if let segments {
                h = try kd.teacher.embed(packed: tokens, segments: segments)
                kd.teacher.runLayers(packed: &h, segments: segments)
            } else {
                h = try kd.teacher.embed(tokens)
                try kd.teacher.runLayers(0..<kd.teacher.layerCount, hidden: &h)
            }
            teacherNormed = kd.teacher.finalNormed(h)
            teacherLogits = .allocate(capacity: chunk * v)
        }
        defer { teacherLogits?.deallocate() }
        let w = kd?.weight ?? 0, tau = kd?.temperature ?? 1

        var ce = [Double](repeating: 0, count: predicted), kl = ce
        var r0 = 0
        while r0 < predicted {
            let n = min(chunk, predicted - r0)
            withHeadWeights { hw in
                BLAS.linear(normed + r0 * d, rows: n, inFeatures: d, weight: hw, outFeatures: v, into: logits)
            }
            if let kd, let tl = teacherLogits {
                let td = kd.teacher.headInputSize
                teacherNormed.withUnsafeBufferPointer { tn in
                    kd.teacher.withHeadWeights { hw in
                        BLAS.linear(tn.baseAddress! + r0 * td, rows: n, inFeatures: td, weight: hw, outFeatures: v, into: tl)
                    }
                }
            }
            ce.withUnsafeMutableBufferPointer { ceOut in
                kl.withUnsafeMutableBufferPointer { klOut in
                    let ceO = ceOut.baseAddress!, klO = klOut.baseAddress!
                    parallelFor(n) { a, b in
                        for i in a..<b {
                            let row = logits + i * v
                            guard let target = objective.target(r0 + i) else {
                                row.update(repeating: 0, count: v)
                                continue
                            }
                            let lse = logSumExp(row, count: v)
                            ceO[r0 + i] = Double(lse - row[target])
                            if let tl = teacherLogits {
                                klO[r0 + i] = Self.distillationRow(row, teacher: tl + i * v, count: v, target: target,
                                                                   lse: lse, weight: w, temperature: tau, scale: c)
                            } else {
                                Self.crossEntropyRow(row, count: v, target: target, lse: lse, scale: c)
                            }
                        }
                    }
                }
            }
            withHeadWeights { hw in
                BLAS.linearInputGradient(logits, rows: n, outFeatures: v, weight: hw, inFeatures: d,
                                         into: dN + r0 * d, accumulate: false)
            }
            if let dW {
                BLAS.linearWeightGradient(logits, rows: n, outFeatures: v, input: normed + r0 * d, inFeatures: d, into: dW)
            }
            r0 += n
        }
        (dN + predicted * d).initialize(repeating: 0, count: d)
        var sums = ObjectiveSums()
        for r in 0..<predicted where objective.target(r) != nil {
            sums.crossEntropy += ce[r]; sums.kl += kl[r]; sums.targets += 1
        }
        return sums
    }

    /// row ← scale·(softmax(row) − onehot(target)), given lse = logsumexp(row).
    @inline(__always)
    static func crossEntropyRow(_ row: UnsafeMutablePointer<Float>, count v: Int, target: Int, lse: Float, scale: Float) {
        let shift = SIMD8<Float>(repeating: lse), s = SIMD8<Float>(repeating: scale)
        var j = 0
        while j + 8 <= v {
            let z = UnsafeRawPointer(row + j).loadUnaligned(as: SIMD8<Float>.self)
            UnsafeMutableRawPointer(row + j).storeBytes(of: s * fastExp(z - shift), as: SIMD8<Float>.self)
            j += 8
        }
        while j < v { row[j] = scale * fastExp(row[j] - lse); j += 1 }
        row[target] -= scale
    }

    /// row ← scale·[(1 − w)(softmax(z) − onehot) + w·τ·(softmax(z/τ) − softmax(t/τ))] and
    /// returns KL(p_t ‖ p_s) at temperature τ (see `SequenceObjective`).
    static func distillationRow(_ row: UnsafeMutablePointer<Float>, teacher t: UnsafePointer<Float>, count v: Int,
                                target: Int, lse: Float, weight w: Float, temperature tau: Float, scale: Float) -> Double {
        let inv = 1 / tau
        var maxS = -Float.infinity, maxT = -Float.infinity
        for j in 0..<v { maxS = max(maxS, row[j] * inv); maxT = max(maxT, t[j] * inv) }
        var sumS: Double = 0, sumT: Double = 0
        for j in 0..<v { sumS += Double(exp(row[j] * inv - maxS)); sumT += Double(exp(t[j] * inv - maxT)) }
        let lseS = maxS + Float(log(sumS)), lseT = maxT + Float(log(sumT))
        var klSum: Double = 0
        let hard = scale * (1 - w), soft = scale * w * tau
        for j in 0..<v {
            let logPT = t[j] * inv - lseT, logPS = row[j] * inv - lseS
            let pT = exp(logPT), pS = exp(logPS)
            if pT > 0 { klSum += Double(pT) * Double(logPT - logPS) }
            row[j] = hard * exp(row[j] - lse) + soft * (pS - pT)
        }
        row[target] -= hard
        return klSum
    }
}
