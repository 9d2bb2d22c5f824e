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
        let d = hiddenSize, v = vocabSize
        var out = [ParameterTensor(name: LlamaTensorNames.embedding.hf, shape: [v, d], role: .tokenEmbedding,
                                   axes: [.vocabulary, .hidden])]
        for (i, l) in layers.enumerated() {
            let p = "model.layers.\(i)."
            let q = TensorAxis.queryChannels(layer: i), kv = TensorAxis.kvChannels(layer: i)
            let mlp = TensorAxis.mlpChannels(layer: i)
            let axes: [Projection: (out: TensorAxis, in: TensorAxis)] = [
                .q: (q, .hidden), .k: (kv, .hidden), .v: (kv, .hidden), .o: (.hidden, q),
                .gate: (mlp, .hidden), .up: (mlp, .hidden), .down: (.hidden, mlp)]
            out.append(ParameterTensor(name: p + LlamaTensorNames.inputNorm.hf + ".weight", shape: [d],
                                       role: .norm(layer: i), axes: [.hidden]))
            for proj in Projection.allCases {
                let lin = l[proj], name = p + LlamaTensorNames.module(proj), a = axes[proj]!
                out.append(ParameterTensor(name: name + ".weight", shape: [lin.outFeatures, lin.inFeatures],
                                           role: .projection(proj, layer: i, site: proj.inputSite), axes: [a.out, a.in]))
                if let b = lin.bias {
                    out.append(ParameterTensor(name: name + ".bias", shape: [b.count], role: .bias(proj, layer: i), axes: [a.out]))
                }
                if proj == .o {
                    out.append(ParameterTensor(name: p + LlamaTensorNames.postAttentionNorm.hf + ".weight", shape: [d],
                                               role: .norm(layer: i), axes: [.hidden]))
                }
            }
        }
        out.append(ParameterTensor(name: LlamaTensorNames.finalNorm.hf, shape: [d], role: .norm(layer: nil), axes: [.hidden]))
        if lmHead != nil {
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
        var c = config
        c.hiddenSize = hiddenSize
        c.numHeads = widths.map(\.heads)
        c.numKVHeads = widths.map(\.kvHeads)
        c.intermediateSizes = widths.map(\.intermediateSize)
        c.tieWordEmbeddings = lmHead == nil
        var tensors = InMemoryTensors()
        let proto = LlamaModel(config: c, embedding: [], layers: [], finalNorm: [], lmHead: nil)
        // The registry of the new shape names every tensor the builder will ask for.
        for t in proto.parameters(shapes: widths, hiddenSize: hiddenSize, tied: lmHead == nil, biases: biasedProjections) {
            tensors.tensors[t.name] = (t.shape, try tensor(t.name, t.shape))
        }
        return try LlamaModel(config: c, tensors: tensors)
    }

    /// Projections that carry a bias (Qwen2: q, k, v).
    var biasedProjections: Set<Projection> {
        Set(Projection.allCases.filter { p in layers.contains { $0[p].bias != nil } })
    }

    /// The registry a model of these widths would have (without building it).
    func parameters(shapes: [BlockShape], hiddenSize d: Int, tied: Bool, biases: Set<Projection>) -> [ParameterTensor] {
        let blocks = shapes.map { s -> LlamaBlock in
            func lin(_ out: Int, _ inp: Int, _ p: Projection) -> Linear {
                Linear(shapeOnly: out, inp, bias: biases.contains(p))
            }
            return LlamaBlock(inputNorm: [], q: lin(s.queryWidth, d, .q), k: lin(s.kvWidth, d, .k), v: lin(s.kvWidth, d, .v),
                              o: lin(d, s.queryWidth, .o), postAttentionNorm: [], gate: lin(s.intermediateSize, d, .gate),
                              up: lin(s.intermediateSize, d, .up), down: lin(d, s.intermediateSize, .down),
                              heads: s.heads, kvHeads: s.kvHeads, headDim: s.headDim)
        }
        var c = config
        c.hiddenSize = d
        let m = LlamaModel(config: c, embedding: [], layers: blocks, finalNorm: [], lmHead: tied ? nil : [])
        return m.parameters
    }

    public func huggingFaceConfig() -> [String: Any] {
        var c = config
        c.numHeads = layers.map(\.heads)
        c.numKVHeads = layers.map(\.kvHeads)
        c.intermediateSizes = layers.map(\.intermediateSize)
        c.tieWordEmbeddings = lmHead == nil
        return hfConfigJSON(c)
    }
}
