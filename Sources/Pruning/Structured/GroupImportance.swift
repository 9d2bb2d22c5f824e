import Compute
import LLM

/// Importance of the dependency groups of a model (LLM-Pruner, Ma et al. 2023, §3.1–3.2), read
/// from the registry's axis labels (so OPT's fc1/fc2 group like Llama's gate/up/down).
/// A group is every weight that must go together for the model to stay consistent:
///
/// - attention group: one key/value head and the query heads that share it under GQA — rows of
///   q, k, v and the matching columns of o (their biases go with them but are not scored);
/// - MLP channel: a row of gate and up (OPT: fc1) and the matching column of down (fc2);
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
        if criterion == .l0 {
            throw StructuredPruningError.invalidSetting("l0 scores are learned gates (HardConcreteGates), not computed from the weights")
        }
        if criterion == .bonsai {
            throw StructuredPruningError.invalidSetting("bonsai scores come from sub-model perplexities (Bonsai), not from the weights")
        }
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
        case .bonsai, .l0: preconditionFailure("GroupImportance refuses bonsai and l0 at init")
        }
    }

    /// Seeded uniform scores; each (kind, layer) has its own stream so scores do not depend on
    /// which other layers are pruned.
    func randomScores(count: Int, kind: UInt64, layer: Int) -> [Double] {
        var rng = SeededRNG(seed: seed ^ (kind &* 0x9E37_79B9_7F4A_7C15) ^ (UInt64(layer) &* 0xD1B5_4A32_D192_ED03))
        return (0..<count).map { _ in Double(rng.nextFloat()) }
    }

    /// Per-channel scores of a registry tensor along axis `axis` (0: rows; a vector has one axis).
    func scores(_ model: LanguageModel, _ t: ParameterTensor, along axis: Int) -> [Double] {
        let rows = t.shape.count == 2 ? t.shape[0] : 1, cols = t.shape.count == 2 ? t.shape[1] : t.shape[0]
        let g = statistics?.gradient[t.name], f = statistics?.fisher?[t.name]
        return model.withParameter(t.name) { w in
            salience.scores(weight: w, gradient: g, fisher: f, rows: rows, cols: cols,
                            alongRows: t.shape.count == 2 && axis == 0)
        }
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

    /// The block weights (not biases) of layer i, in registry order.
    func weights(_ model: LanguageModel, layer i: Int) -> [ParameterTensor] {
        model.parameters.filter { t in
            if case .projection(_, let l, _) = t.role { return l == i }
            return false
        }
    }

    /// One score per KV head of layer `i` (the group: that KV head and its query heads).
    public func attentionGroupScores(_ model: LanguageModel, layer i: Int) -> [Double] {
        let l = model.blockShape(i)
        guard l.kvHeads > 0 else { return [] }
        if criterion == .random { return randomScores(count: l.kvHeads, kind: 1, layer: i) }
        let hd = l.headDim, perKV = l.heads / l.kvHeads
        // Fold a query-width vector (heads × hd) onto the KV width (kvHeads × hd): the channel j of
        // KV head h collects channel j of each query head that reads it.
        func fold(_ v: [Double]) -> [Double] {
            var out = [Double](repeating: 0, count: l.kvHeads * hd)
            for h in 0..<l.heads { for j in 0..<hd { out[(h / perKV) * hd + j] += v[h * hd + j] } }
            return out
        }
        var parts: [[Double]] = []
        for t in weights(model, layer: i) {
            if let a = t.axes.firstIndex(of: .queryChannels(layer: i)) { parts.append(fold(scores(model, t, along: a))) }
            if let a = t.axes.firstIndex(of: .kvChannels(layer: i)) { parts.append(scores(model, t, along: a)) }
        }
        let perChannel = aggregate(parts)
        return (0..<l.kvHeads).map { h in perChannel[(h * hd)..<((h + 1) * hd)].reduce(0, +) }
    }

    /// One score per MLP channel of layer `i`.
    public func mlpChannelScores(_ model: LanguageModel, layer i: Int) -> [Double] {
        let width = model.blockShape(i).intermediateSize
        guard width > 0 else { return [] }
        if criterion == .random { return randomScores(count: width, kind: 2, layer: i) }
        return aggregate(weights(model, layer: i).compactMap { t in
            t.axes.firstIndex(of: .mlpChannels(layer: i)).map { scores(model, t, along: $0) }
        })
    }

    /// One score per hidden (residual-stream) channel, over every tensor that touches it (biases
    /// aside): the embedding and an untied head, every norm, every block weight.
    public func hiddenChannelScores(_ model: LanguageModel) -> [Double] {
        let d = model.hiddenSize
        if criterion == .random { return randomScores(count: d, kind: 3, layer: 0) }
        let touching = model.parameters.filter { t in
            if case .bias = t.role { return false }
            return t.axes.contains(.hidden)
        }
        // Outside the blocks first (embedding, head, final norm), then each block's norms and weights.
        func rank(_ t: ParameterTensor) -> (Int, Int, Int) {
            switch t.role {
            case .tokenEmbedding: return (0, 0, 0)
            case .head: return (0, 1, 0)
            case .norm(nil): return (0, 2, 0)
            case .norm(let l?): return (1, l, 0)
            default: return (1, t.role.layer ?? Int.max, 1)
            }
        }
        let ordered = touching.enumerated().sorted { a, b in
            let ra = rank(a.element), rb = rank(b.element)
            return ra != rb ? ra < rb : a.offset < b.offset
        }.map(\.element)
        return aggregate(ordered.map { t in scores(model, t, along: t.axes.firstIndex(of: .hidden)!) })
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
