import Foundation
import ModelIO

/// The OPT family's parameter registry (names from `OPTTensorNames`) and the rest of
/// `LanguageModel` that is about tensors rather than execution.
extension OPTModel {
    /// The registry follows from the config alone (the loader builds exactly these tensors), so a
    /// run's memory plan can be made before any weight is read.
    public var parameters: [ParameterTensor] { Self.parameters(config: config) }

    public static func parameters(config c: OPTConfig) -> [ParameterTensor] {
        let d = c.hiddenSize, e = c.wordEmbedProjDim
        let wordAxis: TensorAxis = e == d ? .hidden : .wordEmbedding
        var out = [ParameterTensor(name: OPTTensorNames.embedding, shape: [c.vocabSize, e], role: .tokenEmbedding,
                                   axes: [.vocabulary, wordAxis]),
                   ParameterTensor(name: OPTTensorNames.positions, shape: [c.maxPositionEmbeddings + OPTTensorNames.positionOffset, d],
                                   role: .positionEmbedding, axes: [.positions, .hidden])]
        if e != d {
            out.append(ParameterTensor(name: OPTTensorNames.projectOut, shape: [e, d], role: .embeddingProjection, axes: [.wordEmbedding, .hidden]))
            out.append(ParameterTensor(name: OPTTensorNames.projectIn, shape: [d, e], role: .embeddingProjection, axes: [.hidden, .wordEmbedding]))
        }
        func norm(_ prefix: String, layer: Int?) {
            guard c.layerNormElementwiseAffine else { return }
            for suffix in [".weight", ".bias"] {
                out.append(ParameterTensor(name: prefix + suffix, shape: [d], role: .norm(layer: layer), axes: [.hidden]))
            }
        }
        let heads = c.heads, ffn = c.ffnDims
        for i in 0..<c.numHiddenLayers {
            let p = OPTTensorNames.layer(i), q = TensorAxis.queryChannels(layer: i), mlp = TensorAxis.mlpChannels(layer: i)
            let qw = heads[i] * c.headDim
            let dims: [Projection: (out: (TensorAxis, Int), in: (TensorAxis, Int))] = [
                .q: ((q, qw), (.hidden, d)), .k: ((q, qw), (.hidden, d)), .v: ((q, qw), (.hidden, d)), .o: ((.hidden, d), (q, qw)),
                .up: ((mlp, ffn[i]), (.hidden, d)), .down: ((.hidden, d), (mlp, ffn[i]))]
            for (proj, module) in OPTTensorNames.projections {
                let a = dims[proj]!
                if proj == .q { norm(p + OPTTensorNames.attentionNorm, layer: i) }
                if proj == .up { norm(p + OPTTensorNames.mlpNorm, layer: i) }
                out.append(ParameterTensor(name: p + module + ".weight", shape: [a.out.1, a.in.1],
                                           role: .projection(proj, layer: i, site: proj.inputSite), axes: [a.out.0, a.in.0]))
                if c.enableBias {
                    out.append(ParameterTensor(name: p + module + ".bias", shape: [a.out.1], role: .bias(proj, layer: i), axes: [a.out.0]))
                }
            }
        }
        if c.doLayerNormBefore && !c.removeFinalLayerNorm { norm(OPTTensorNames.finalNorm, layer: nil) }
        return out
    }

    public func withParameter<R>(_ name: String, _ body: (inout [Float]) throws -> R) rethrows -> R {
        switch name {
        case OPTTensorNames.embedding: return try body(&embedding)
        case OPTTensorNames.positions: return try body(&positions)
        case OPTTensorNames.projectIn where projectIn != nil: return try body(&projectIn!.weight)
        case OPTTensorNames.projectOut where projectOut != nil: return try body(&projectOut!.weight)
        case OPTTensorNames.finalNorm + ".weight" where finalNorm?.weight != nil: return try body(&finalNorm!.weight!)
        case OPTTensorNames.finalNorm + ".bias" where finalNorm?.bias != nil: return try body(&finalNorm!.bias!)
        default: break
        }
        let prefix = "model.decoder.layers."
        guard name.hasPrefix(prefix) else { preconditionFailure("no parameter '\(name)'") }
        let rest = name.dropFirst(prefix.count)
        guard let dot = rest.firstIndex(of: "."), let i = Int(rest[..<dot]), layers.indices.contains(i) else {
            preconditionFailure("no parameter '\(name)'")
        }
        let local = String(rest[rest.index(after: dot)...])
        switch local {
        case OPTTensorNames.attentionNorm + ".weight" where layers[i].attentionNorm.weight != nil: return try body(&layers[i].attentionNorm.weight!)
        case OPTTensorNames.attentionNorm + ".bias" where layers[i].attentionNorm.bias != nil: return try body(&layers[i].attentionNorm.bias!)
        case OPTTensorNames.mlpNorm + ".weight" where layers[i].mlpNorm.weight != nil: return try body(&layers[i].mlpNorm.weight!)
        case OPTTensorNames.mlpNorm + ".bias" where layers[i].mlpNorm.bias != nil: return try body(&layers[i].mlpNorm.bias!)
        default: break
        }
        for (proj, module) in OPTTensorNames.projections {
            if local == module + ".weight" {
                precondition(layers[i][proj].storage.name == "dense", "\(name) is held sparse; convert it back to dense first")
                return try body(&layers[i][proj].weight)
            }
            if local == module + ".bias", layers[i][proj].bias != nil { return try body(&layers[i][proj].bias!) }
        }
        preconditionFailure("no parameter '\(name)'")
    }

    public func rebuilt(hiddenSize: Int, widths: [BlockShape], tensor: (String, [Int]) throws -> [Float]) throws -> LanguageModel {
        guard hiddenSize == self.hiddenSize else {
            throw LLMError.invalidConfig("removing hidden channels is not supported for OPT (LayerNorm statistics span the whole stream)")
        }
        var c = config
        c.numHiddenLayers = widths.count
        c.secateurNumHeads = widths.map(\.heads)
        c.secateurFFNDims = widths.map(\.intermediateSize)
        c.numAttentionHeads = widths.map(\.heads).max() ?? 0
        c.ffnDim = widths.map(\.intermediateSize).max() ?? 0
        // The registry of the new shape: this model's, with each block's widths replaced.
        var tensors = InMemoryTensors()
        for t in parameters where t.role.layer == nil {
            tensors.tensors[t.name] = (t.shape, try tensor(t.name, t.shape))
        }
        for (j, w) in widths.enumerated() {
            let p = OPTTensorNames.layer(j), qw = w.heads * c.headDim, f = w.intermediateSize, d = hiddenSize
            var shapes: [(String, [Int])] = []
            if c.layerNormElementwiseAffine {
                for n in [OPTTensorNames.attentionNorm, OPTTensorNames.mlpNorm] { shapes += [(p + n + ".weight", [d]), (p + n + ".bias", [d])] }
            }
            let dims: [Projection: (Int, Int)] = [.q: (qw, d), .k: (qw, d), .v: (qw, d), .o: (d, qw), .up: (f, d), .down: (d, f)]
            for (proj, module) in OPTTensorNames.projections {
                let (o, i) = dims[proj]!
                shapes.append((p + module + ".weight", [o, i]))
                if c.enableBias { shapes.append((p + module + ".bias", [o])) }
            }
            for (name, shape) in shapes { tensors.tensors[name] = (shape, try tensor(name, shape)) }
        }
        return try OPTModel(config: c, tensors: tensors)
    }

    public func huggingFaceConfig() -> [String: Any] {
        var c = config
        let uniform = Set(layers.map(\.heads)).count <= 1 && Set(layers.map(\.fc1.outFeatures)).count <= 1
        c.numHiddenLayers = layers.count
        c.numAttentionHeads = layers.map(\.heads).max() ?? 0
        c.ffnDim = layers.map(\.fc1.outFeatures).max() ?? 0
        c.secateurNumHeads = uniform ? nil : layers.map(\.heads)
        c.secateurFFNDims = uniform ? nil : layers.map(\.fc1.outFeatures)
        var json: [String: Any] = [
            "architectures": ["OPTForCausalLM"], "model_type": "opt", "torch_dtype": "float32",
            "vocab_size": c.vocabSize, "hidden_size": c.hiddenSize, "num_hidden_layers": c.numHiddenLayers,
            "num_attention_heads": c.numAttentionHeads, "ffn_dim": c.ffnDim,
            "max_position_embeddings": c.maxPositionEmbeddings, "do_layer_norm_before": c.doLayerNormBefore,
            "word_embed_proj_dim": c.wordEmbedProjDim, "enable_bias": c.enableBias,
            "layer_norm_elementwise_affine": c.layerNormElementwiseAffine, "activation_function": c.activationFunction,
            "_remove_final_layer_norm": c.removeFinalLayerNorm, "tie_word_embeddings": c.tieWordEmbeddings,
            "dropout": 0.0, "attention_dropout": 0.0, "layerdrop": 0.0,
        ]
        for (key, id) in [("bos_token_id", c.bosTokenID), ("eos_token_id", c.eosTokenID), ("pad_token_id", c.padTokenID)] {
            if let id { json[key] = id }
        }
        if !uniform {
            json["secateur_num_heads"] = c.secateurNumHeads
            json["secateur_ffn_dims"] = c.secateurFFNDims
        }
        // After heads are removed, hidden / heads no longer gives the head size.
        if c.headDim * c.numAttentionHeads != c.hiddenSize { json["secateur_head_dim"] = c.headDim }
        return json
    }
}
