import Compute
import LLM

/// Importance of the dependency groups of a Llama model (LLM-Pruner, Ma et al. 2023, §3.1–3.2).
/// A group is every weight that must go together for the model to stay consistent:
///
/// - attention group: one key/value head and the query heads that share it under GQA — rows of
///   q, k, v (and their biases) and the matching columns of o;
/// - MLP channel: a row of gate and up and the matching column of down;
/// - hidden channel: one coordinate of the residual stream — a column of the embedding (and of an
///   untied LM head), an entry of every RMSNorm, a column of q, k, v, gate, up and a row of o, down.
///
/// As in the reference, each dependent tensor first scores its own channels (`ChannelSalience`);
/// a tensor with more channels than the group's unit is folded onto it by summing (the query
/// heads sharing one KV head, channel by channel); the tensors' per-channel scores are then
/// combined (`GroupAggregation`), and for attention the head_dim channels of a KV head are summed
/// (the reference's `consecutive_groups`).
public struct GroupImportance {
    public let criterion: StructuredCriterion
    public let taylorOrder: TaylorOrder
    public let aggregation: GroupAggregation
    public let statistics: TaylorStatistics?
    public let seed: UInt64

    public init(criterion: StructuredCriterion, taylorOrder: TaylorOrder = .first, aggregation: GroupAggregation = .sum,
                statistics: TaylorStatistics? = nil, seed: UInt64 = 0) throws {
        if criterion == .taylor {
            guard let s = statistics else { throw StructuredPruningError.gradientsUnavailable }
            if taylorOrder.needsFisher && s.fisher == nil {
                throw StructuredPruningError.invalidSetting("Taylor order '\(taylorOrder.rawValue)' needs accumulated squared gradients (Fisher)")
            }
        }
        self.criterion = criterion; self.taylorOrder = taylorOrder; self.aggregation = aggregation
        self.statistics = statistics; self.seed = seed
    }

    var salience: ChannelSalience {
        switch criterion {
        case .l1, .random: return ChannelSalience(.l1)
        case .l2: return ChannelSalience(.l2)
        case .taylor: return ChannelSalience(.taylor(taylorOrder))
        }
    }

    /// Seeded uniform scores; each (kind, layer) has its own stream so scores do not depend on
    /// which other layers are pruned.
    func randomScores(count: Int, kind: UInt64, layer: Int) -> [Double] {
        var rng = SeededRNG(seed: seed ^ (kind &* 0x9E37_79B9_7F4A_7C15) ^ (UInt64(layer) &* 0xD1B5_4A32_D192_ED03))
        return (0..<count).map { _ in Double(rng.nextFloat()) }
    }

    func scores(_ lin: Linear, _ grad: LinearGradient?, _ fisher: LinearGradient?, alongRows: Bool) -> [Double] {
        salience.scores(weight: lin.weight, gradient: grad?.weight, fisher: fisher?.weight,
                        rows: lin.outFeatures, cols: lin.inFeatures, alongRows: alongRows)
    }

    /// Combines per-channel score vectors of equal length across tensors.
    func aggregate(_ parts: [[Double]]) -> [Double] {
        let n = parts[0].count
        var out = [Double](repeating: aggregation == .max ? -.infinity : 0, count: n)
        for p in parts {
            precondition(p.count == n)
            for i in 0..<n {
                switch aggregation {
                case .sum, .mean: out[i] += p[i]
                case .max: out[i] = Swift.max(out[i], p[i])
                case .product: out[i] += log(Swift.max(p[i], Double.leastNormalMagnitude))
                }
            }
        }
        if aggregation == .mean { for i in 0..<n { out[i] /= Double(parts.count) } }
        return out
    }

    /// One score per KV head of layer `i` (the group: that KV head and its query heads).
    public func attentionGroupScores(_ model: LlamaModel, layer i: Int) -> [Double] {
        let l = model.layers[i]
        guard l.kvHeads > 0 else { return [] }
        if criterion == .random { return randomScores(count: l.kvHeads, kind: 1, layer: i) }
        let hd = l.headDim, perKV = l.heads / l.kvHeads
        let g = statistics?.gradient.layers[i], f = statistics?.fisher?.layers[i]
        // Fold a query-width vector (heads × hd) onto the KV width (kvHeads × hd): the channel j of
        // KV head h collects channel j of each query head that reads it.
        func fold(_ v: [Double]) -> [Double] {
            var out = [Double](repeating: 0, count: l.kvHeads * hd)
            for h in 0..<l.heads { for j in 0..<hd { out[(h / perKV) * hd + j] += v[h * hd + j] } }
            return out
        }
        let parts = [fold(scores(l.q, g?.q, f?.q, alongRows: true)),
                     scores(l.k, g?.k, f?.k, alongRows: true),
                     scores(l.v, g?.v, f?.v, alongRows: true),
                     fold(scores(l.o, g?.o, f?.o, alongRows: false))]
        let perChannel = aggregate(parts)
        return (0..<l.kvHeads).map { h in perChannel[(h * hd)..<((h + 1) * hd)].reduce(0, +) }
    }

    /// One score per MLP channel of layer `i`.
    public func mlpChannelScores(_ model: LlamaModel, layer i: Int) -> [Double] {
        let l = model.layers[i]
        guard l.intermediateSize > 0 else { return [] }
        if criterion == .random { return randomScores(count: l.intermediateSize, kind: 2, layer: i) }
        let g = statistics?.gradient.layers[i], f = statistics?.fisher?.layers[i]
        return aggregate([scores(l.gate, g?.gate, f?.gate, alongRows: true),
                          scores(l.up, g?.up, f?.up, alongRows: true),
                          scores(l.down, g?.down, f?.down, alongRows: false)])
    }

    /// One score per hidden (residual-stream) channel, over every tensor that touches it.
    public func hiddenChannelScores(_ model: LlamaModel) -> [Double] {
        let d = model.hiddenSize
        if criterion == .random { return randomScores(count: d, kind: 3, layer: 0) }
        let s = salience, st = statistics
        func vector(_ w: [Float], _ g: [Float]?, _ f: [Float]?) -> [Double] {
            s.scores(weight: w, gradient: g, fisher: f, rows: 1, cols: d, alongRows: false)
        }
        var parts: [[Double]] = []
        parts.append(s.scores(weight: model.embedding, gradient: st?.gradient.embedding, fisher: st?.fisher?.embedding,
                              rows: model.vocabSize, cols: d, alongRows: false))
        if let head = model.lmHead {
            parts.append(s.scores(weight: head, gradient: st?.gradient.lmHead, fisher: st?.fisher?.lmHead,
                                  rows: model.vocabSize, cols: d, alongRows: false))
        }
        parts.append(vector(model.finalNorm, st?.gradient.finalNorm, st?.fisher?.finalNorm))
        for (i, l) in model.layers.enumerated() {
            let g = st?.gradient.layers[i], f = st?.fisher?.layers[i]
            parts.append(vector(l.inputNorm, g?.inputNorm, f?.inputNorm))
            parts.append(vector(l.postAttentionNorm, g?.postAttentionNorm, f?.postAttentionNorm))
            for p in Projection.allCases where l[p].weight.count > 0 {
                // o and down write the residual stream (rows); the others read it (columns).
                parts.append(scores(l[p], g?[p], f?[p], alongRows: p == .o || p == .down))
            }
        }
        return aggregate(parts)
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
