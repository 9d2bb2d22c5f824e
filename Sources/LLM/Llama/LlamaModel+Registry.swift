import ModelIO

/// The Llama family's parameter registry and the rest of `LanguageModel` that is about
/// tensors rather than execution: names from `LlamaTensorNames`, shapes from the blocks.
extension LlamaModel {
    public var projections: [Projection] { Projection.allCases }

    public func blockShape(_ i: Int) -> BlockShape { layers[i].shape }

    public func moduleName(_ p: Projection, layer i: Int) -> String {
        "model.layers.\(i)." + LlamaTensorNames.module(p)
    }

    public func linear(_ p: Projection, layer i: Int) -> Linear { layers[i][p] }

    public func setLinear(_ linear: Linear, _ p: Projection, layer i: Int) { layers[i][p] = linear }

    public var parameters: [ParameterTensor] {
        Self.parameters(config: currentConfig) { p, i in self.layers[i][p].bias != nil }
    }

    /// The config with the widths the layers have now (structured pruning changes them).
    var currentConfig: ModelConfig {
        var c = config
        c.numHeads = layers.map(\.heads)
        c.numKVHeads = layers.map(\.kvHeads)
        c.intermediateSizes = layers.map(\.intermediateSize)
        c.tieWordEmbeddings = lmHead == nil
        return c
    }

    /// The registry of a model with `config`'s widths, without holding one (what a checkpoint
    /// of that shape contains, in order): `biased(p, layer)` says which projections carry a
    /// bias (by default q, k and v where `attentionBias`, as Qwen2).
    public static func parameters(config c: ModelConfig,
                                  biased: ((Projection, Int) -> Bool)? = nil) -> [ParameterTensor] {
        let d = c.hiddenSize, v = c.vocabSize, hd = c.headDim
        let hasBias = biased ?? { p, _ in c.attentionBias && [.q, .k, .v].contains(p) }
        var out = [ParameterTensor(name: LlamaTensorNames.embedding.hf, shape: [v, d], role: .tokenEmbedding,
                                   axes: [.vocabulary, .hidden])]
        for i in 0..<c.numLayers {
            let p = "model.layers.\(i)."
            let q = TensorAxis.queryChannels(layer: i), kv = TensorAxis.kvChannels(layer: i)
            let mlp = TensorAxis.mlpChannels(layer: i)
            let qw = c.numHeads[i] * hd, kvw = c.numKVHeads[i] * hd, inter = c.intermediateSizes[i]
            let dims: [Projection: (out: (TensorAxis, Int), in: (TensorAxis, Int))] = [
                .q: ((q, qw), (.hidden, d)), .k: ((kv, kvw), (.hidden, d)), .v: ((kv, kvw), (.hidden, d)),
                .o: ((.hidden, d), (q, qw)),
                .gate: ((mlp, inter), (.hidden, d)), .up: ((mlp, inter), (.hidden, d)), .down: ((.hidden, d), (mlp, inter))]
            out.append(ParameterTensor(name: p + LlamaTensorNames.inputNorm.hf + ".weight", shape: [d],
                                       role: .norm(layer: i), axes: [.hidden]))
            for proj in Projection.allCases {
                let name = p + LlamaTensorNames.module(proj), a = dims[proj]!
                out.append(ParameterTensor(name: name + ".weight", shape: [a.out.1, a.in.1],
                                           role: .projection(proj, layer: i, site: proj.inputSite), axes: [a.out.0, a.in.0]))
                if hasBias(proj, i) {
                    out.append(ParameterTensor(name: name + ".bias", shape: [a.out.1], role: .bias(proj, layer: i), axes: [a.out.0]))
                }
                if proj == .o {
                    out.append(ParameterTensor(name: p + LlamaTensorNames.postAttentionNorm.hf + ".weight", shape: [d],
                                               role: .norm(layer: i), axes: [.hidden]))
                }
            }
        }
        out.append(ParameterTensor(name: LlamaTensorNames.finalNorm.hf, shape: [d], role: .norm(layer: nil), axes: [.hidden]))
        if !c.tieWordEmbeddings {
            out.append(ParameterTensor(name: LlamaTensorNames.head.hf, shape: [v, d], role: .head, axes: [.vocabulary, .hidden]))
        }
        return out
    }

    public func withParameter<R>(_ name: String, _ body: (inout [Float]) throws -> R) rethrows -> R {
        switch name {
        case LlamaTensorNames.embedding.hf: return try body(&embedding)
        case LlamaTensorNames.finalNorm.hf: return try body(&finalNorm)
        case LlamaTensorNames.head.hf where lmHead != nil: return try body(&lmHead!)
        default: break
        }
        let parts = name.split(separator: ".", maxSplits: 3)
        guard parts.count == 4, parts[0] == "model", parts[1] == "layers", let i = Int(parts[2]), layers.indices.contains(i) else {
            preconditionFailure("no parameter '\(name)'")
        }
        let rest = String(parts[3])
        if rest == LlamaTensorNames.inputNorm.hf + ".weight" { return try body(&layers[i].inputNorm) }
        if rest == LlamaTensorNames.postAttentionNorm.hf + ".weight" { return try body(&layers[i].postAttentionNorm) }
        for (proj, module, _) in LlamaTensorNames.projections {
            if rest == module + ".weight" {
                precondition(layers[i][proj].storage.name == "dense", "\(name) is held sparse; convert it back to dense first")
                return try body(&layers[i][proj].weight)
            }
            if rest == module + ".bias", layers[i][proj].bias != nil { return try body(&layers[i][proj].bias!) }
        }
        preconditionFailure("no parameter '\(name)'")
    }

    public func rebuilt(hiddenSize: Int, widths: [BlockShape], tensor: (String, [Int]) throws -> [Float]) throws -> LanguageModel {
        let c = rebuiltConfig(hiddenSize: hiddenSize, widths: widths)
        var tensors = InMemoryTensors()
        // The registry of the new shape names every tensor the builder will ask for.
        let biases = biasedProjections
        for t in Self.parameters(config: c, biased: { p, _ in biases.contains(p) }) {
            tensors.tensors[t.name] = (t.shape, try tensor(t.name, t.shape))
        }
        return try LlamaModel(config: c, tensors: tensors)
    }

    /// `rebuilt`, with the blocks built only when the returned residency loads them (their
    /// tensors asked of `tensor` then); the embedding, final norm and head are asked for now.
    public func streamedRebuild(hiddenSize: Int, widths: [BlockShape],
                                tensor: @escaping (String, [Int]) throws -> [Float]) throws -> (model: LanguageModel, residency: LayerResidency) {
        let c = rebuiltConfig(hiddenSize: hiddenSize, widths: widths)
        let biases = biasedProjections
        let shapes = Dictionary(uniqueKeysWithValues: Self.parameters(config: c, biased: { p, _ in biases.contains(p) }).map { ($0.name, $0.shape) })
        let stream = try LlamaLayerStream(config: c, tensors: ComputedTensors(shapes: shapes, values: tensor))
        return (stream.model, stream)
    }

    /// The config of this model with other widths.
    func rebuiltConfig(hiddenSize: Int, widths: [BlockShape]) -> ModelConfig {
        var c = config
        c.hiddenSize = hiddenSize
        c.numHeads = widths.map(\.heads)
        c.numKVHeads = widths.map(\.kvHeads)
        c.intermediateSizes = widths.map(\.intermediateSize)
        c.tieWordEmbeddings = lmHead == nil
        return c
    }

    /// Projections that carry a bias (Qwen2: q, k, v).
    var biasedProjections: Set<Projection> {
        Set(Projection.allCases.filter { p in layers.contains { $0[p].bias != nil } })
    }

    public func huggingFaceConfig() -> [String: Any] {
        hfConfigJSON(currentConfig)
    }
}
