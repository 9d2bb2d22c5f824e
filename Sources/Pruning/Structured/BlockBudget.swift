import LLM

/// How many attention groups and MLP channels each chosen layer loses in block mode.
public struct BlockAllocation: Codable, Sendable, Equatable {
    /// Per dense layer (0 outside the chosen layers).
    public var removedKVGroups: [Int]
    public var removedMLPChannels: [Int]
    /// The uniform per-layer fraction the allocation was solved around (model mode), or the
    /// requested per-layer ratio (layer mode).
    public var perLayerRatio: Double
    public var removedParameters: Int
}

/// Solves block-wise pruning for an exact whole-model parameter ratio.
///
/// Choice: a uniform per-layer ratio, not a global ranking. Scores of different layers (and of
/// attention groups against MLP channels) are not on one scale for l1/l2 and Taylor, and a global
/// ranking can empty a layer; the reference prunes each layer by the same ratio too. The solution
/// is closed-form rather than bisection because removed parameters are linear in the per-layer
/// fraction ρ = target / (parameters of the chosen blocks). Attention granularity is a whole KV
/// group (a third of SmolLM2's attention per layer, 7 M parameters over 24 layers), so the
/// attention share is the nearest whole number of groups to ρ (the same in every layer), and the
/// MLP channels (3·hidden parameters each) absorb the remainder, spread evenly over the MLP layers;
/// the result lands within one channel per layer of the target. If that attention choice leaves
/// the MLP layers unable to absorb the rest, the next-nearest uniform group count is tried.
public enum BlockBudget {
    /// Parameters of one KV group (its KV head, the query heads sharing it, matching o columns, biases).
    public static func kvGroupParameters(_ model: LanguageModel, layer i: Int) -> Int {
        let s = model.blockShape(i)
        guard s.kvHeads > 0 else { return 0 }
        return model.projections.filter(\.isAttention).reduce(0) { $0 + model.linear($1, layer: i).parameterCount } / s.kvHeads
    }

    /// Parameters of one MLP channel (a row of gate and up, a column of down).
    public static func mlpChannelParameters(_ model: LanguageModel, layer i: Int) -> Int {
        let s = model.blockShape(i)
        guard s.intermediateSize > 0 else { return 0 }
        return model.projections.filter { !$0.isAttention }.reduce(0) { $0 + model.linear($1, layer: i).parameterCount }
            / s.intermediateSize
    }

    public static let tolerance = 0.005

    public static func solve(model: LanguageModel, attentionLayers: [Int], mlpLayers: [Int], ratio: Double,
                             mode: RatioMode, scope: String) throws -> BlockAllocation {
        let layers = model.blockShapes, n = layers.count
        let groupParameters = (0..<n).map { kvGroupParameters(model, layer: $0) }
        let channelParameters = (0..<n).map { mlpChannelParameters(model, layer: $0) }
        let attn = attentionLayers.filter { layers[$0].kvHeads > 0 }
        let mlp = mlpLayers.filter { layers[$0].intermediateSize > 0 }
        var groups = [Int](repeating: 0, count: n), channels = [Int](repeating: 0, count: n)
        func removed() -> Int {
            (0..<n).reduce(0) { $0 + groups[$1] * groupParameters[$1] + channels[$1] * channelParameters[$1] }
        }

        if mode == .layer {
            // LLM-Pruner: n_pruned = n − int(n·(1 − r)) channels of each root tensor. Under GQA its
            // llama3.py roots attention at k_proj with head_dim-consecutive groups, so whole KV heads
            // (and the query heads that share them) go: ⌊n_pruned / head_dim⌋ of them.
            for i in attn {
                let l = layers[i], kOut = l.kvHeads * l.headDim
                groups[i] = min(l.kvHeads - 1, (kOut - Int(Double(kOut) * (1 - ratio))) / l.headDim)
            }
            for i in mlp {
                let m = layers[i].intermediateSize
                channels[i] = min(m - 1, m - Int(Double(m) * (1 - ratio)))
            }
            return BlockAllocation(removedKVGroups: groups, removedMLPChannels: channels, perLayerRatio: ratio, removedParameters: removed())
        }

        let total = Double(model.parameterCount)
        let target = ratio * total
        let maxGroups = attn.reduce(0) { $0 + (layers[$1].kvHeads - 1) * groupParameters[$1] }
        let maxChannels = mlp.reduce(0) { $0 + (layers[$1].intermediateSize - 1) * channelParameters[$1] }
        let maxRatio = Double(maxGroups + maxChannels) / total
        if ratio > maxRatio + tolerance {
            throw StructuredPruningError.ratioUnreachable(requested: ratio, maximum: maxRatio, scope: scope)
        }
        let prunable = Double(attn.reduce(0) { $0 + layers[$1].kvHeads * groupParameters[$1] }
                              + mlp.reduce(0) { $0 + layers[$1].intermediateSize * channelParameters[$1] })
        let rho = min(1, target / max(prunable, 1))
        let kvMax = attn.map { layers[$0].kvHeads }.max() ?? 0
        var fractions = [rho]
        if kvMax > 0 { fractions += (0...kvMax).map { Double($0) / Double(kvMax) }.sorted { abs($0 - rho) < abs($1 - rho) } }

        var below: Double?, above: Double?
        for x in fractions {
            groups = [Int](repeating: 0, count: n); channels = [Int](repeating: 0, count: n)
            for i in attn { groups[i] = min(layers[i].kvHeads - 1, Int((x * Double(layers[i].kvHeads)).rounded())) }
            let rest = target - Double(removed())
            if let first = mlp.first {
                let per = Double(channelParameters[first])
                let capacity = mlp.reduce(0) { $0 + layers[$1].intermediateSize - 1 }
                let c = min(capacity, max(0, Int((rest / per).rounded())))
                distribute(c, over: mlp, sizes: mlp.map { layers[$0].intermediateSize }, into: &channels)
            }
            let got = Double(removed()) / total
            if abs(got - ratio) <= tolerance {
                return BlockAllocation(removedKVGroups: groups, removedMLPChannels: channels, perLayerRatio: rho,
                                       removedParameters: removed())
            }
            if got < ratio { below = max(below ?? got, got) } else { above = min(above ?? got, got) }
        }
        throw StructuredPruningError.ratioNotRepresentable(
            requested: ratio, below: below, above: above,
            granularity: "attention is removed in whole KV groups and the MLP layers chosen cannot absorb the difference")
    }

    /// Spreads `count` removals over `layers` in proportion to their widths (each keeps at least
    /// one channel); the rounding remainder goes one by one to the layers in order.
    static func distribute(_ count: Int, over layers: [Int], sizes: [Int], into out: inout [Int]) {
        let total = sizes.reduce(0, +)
        guard total > 0 else { return }
        var left = count
        for (k, i) in layers.enumerated() {
            let share = min(sizes[k] - 1, Int(Double(count) * Double(sizes[k]) / Double(total)))
            out[i] = share; left -= share
        }
        while left > 0 {
            var progressed = false
            for (k, i) in layers.enumerated() where left > 0 && out[i] < sizes[k] - 1 {
                out[i] += 1; left -= 1; progressed = true
            }
            if !progressed { break }
        }
    }
}
