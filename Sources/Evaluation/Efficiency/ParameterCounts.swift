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

    public init(model: LanguageModel) {
        func nonzeros(_ a: [Float]) -> Int { a.reduce(0) { $1 != 0 ? $0 + 1 : $0 } }
        let registry = model.parameters
        func module(_ name: String, _ select: (ParameterRole) -> Bool) -> Module? {
            let ts = registry.filter { select($0.role) }
            guard !ts.isEmpty else { return nil }
            return Module(name: name, total: ts.reduce(0) { $0 + $1.count },
                          nonzero: ts.reduce(0) { n, t in n + model.withParameter(t.name) { nonzeros($0) } })
        }
        var modules: [Module] = []
        if let m = module("embed_tokens", { if case .tokenEmbedding = $0 { return true }; return false }) { modules.append(m) }
        if let m = module("embed_positions", { if case .positionEmbedding = $0 { return true }; return false }) { modules.append(m) }
        for p in model.projections {
            // Named as inside a block ("self_attn.q_proj"); counted through the layer so sparse storage counts too.
            let full = model.moduleName(p, layer: 0)
            var m = Module(name: String(full[full.range(of: "layers.0.")!.upperBound...]), total: 0, nonzero: 0)
            for i in 0..<model.layerCount {
                let lin = model.linear(p, layer: i)
                m.total += lin.parameterCount
                m.nonzero += lin.nonzeroWeightCount + (lin.bias.map(nonzeros) ?? 0)
            }
            modules.append(m)
        }
        if let m = module("norms", { if case .norm = $0 { return true }; return false }) { modules.append(m) }
        if let m = module("embedding_projections", { $0 == .embeddingProjection }) { modules.append(m) }
        if let m = module("lm_head", { $0 == .head }) { modules.append(m) }
        self.modules = modules
        total = modules.reduce(0) { $0 + $1.total }
        nonzero = modules.reduce(0) { $0 + $1.nonzero }
    }
}
