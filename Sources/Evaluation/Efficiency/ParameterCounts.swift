import LLM

/// Parameters of a model, all and non-zero (exact zeros are pruned weights), in total and per
/// module kind: the embedding, each projection summed over layers, the norms, an untied head.
public struct ParameterCounts: Codable, Sendable, Equatable {
    public struct Module: Codable, Sendable, Equatable {
        public var name: String
        public var total: Int
        public var nonzero: Int
    }
    public var total: Int
    public var nonzero: Int
    public var modules: [Module]

    public init(model: LlamaModel) {
        func nonzeros(_ a: [Float]) -> Int { a.reduce(0) { $1 != 0 ? $0 + 1 : $0 } }
        var modules = [Module(name: "embed_tokens", total: model.embedding.count, nonzero: nonzeros(model.embedding))]
        for p in Projection.allCases {
            var m = Module(name: p.hfName, total: 0, nonzero: 0)
            for l in model.layers {
                let lin = l[p]
                m.total += lin.parameterCount
                m.nonzero += lin.nonzeroWeightCount + (lin.bias.map(nonzeros) ?? 0)
            }
            modules.append(m)
        }
        var norms = Module(name: "norms", total: model.finalNorm.count, nonzero: nonzeros(model.finalNorm))
        for l in model.layers {
            norms.total += l.inputNorm.count + l.postAttentionNorm.count
            norms.nonzero += nonzeros(l.inputNorm) + nonzeros(l.postAttentionNorm)
        }
        modules.append(norms)
        if let head = model.lmHead { modules.append(Module(name: "lm_head", total: head.count, nonzero: nonzeros(head))) }
        self.modules = modules
        total = modules.reduce(0) { $0 + $1.total }
        nonzero = modules.reduce(0) { $0 + $1.nonzero }
    }
}
