import LLM

/// Test support: a Llama model's gradients by the fields the tests were written against
/// (`g.embedding`, `g.layers[i].q.weight`), read from and written back to the registry-shaped
/// `ModelGradients` buffer by Hugging Face name.
struct LinearGradientFields {
    var weight: [Float]
    var bias: [Float]?
}

struct LlamaLayerGradientFields {
    var inputNorm: [Float]
    var postAttentionNorm: [Float]
    var projections: [Projection: LinearGradientFields]
    var q: LinearGradientFields { get { self[.q] } set { self[.q] = newValue } }
    var k: LinearGradientFields { get { self[.k] } set { self[.k] = newValue } }
    var v: LinearGradientFields { get { self[.v] } set { self[.v] = newValue } }
    var o: LinearGradientFields { get { self[.o] } set { self[.o] = newValue } }
    var gate: LinearGradientFields { get { self[.gate] } set { self[.gate] = newValue } }
    var up: LinearGradientFields { get { self[.up] } set { self[.up] = newValue } }
    var down: LinearGradientFields { get { self[.down] } set { self[.down] = newValue } }
    subscript(_ p: Projection) -> LinearGradientFields {
        get { projections[p]! }
        set { projections[p] = newValue }
    }
}

extension ModelGradients {
    var embedding: [Float] { get { self[LlamaTensorNames.embedding.hf] } set { self[LlamaTensorNames.embedding.hf] = newValue } }
    var finalNorm: [Float] { get { self[LlamaTensorNames.finalNorm.hf] } set { self[LlamaTensorNames.finalNorm.hf] = newValue } }
    var lmHead: [Float]? {
        get { contains(LlamaTensorNames.head.hf) ? self[LlamaTensorNames.head.hf] : nil }
        set { if let v = newValue { self[LlamaTensorNames.head.hf] = v } }
    }
    var layers: [LlamaLayerGradientFields] {
        get {
            var n = 0
            while contains("model.layers.\(n).input_layernorm.weight") { n += 1 }
            return (0..<n).map { i in
                let p = "model.layers.\(i)."
                var projections: [Projection: LinearGradientFields] = [:]
                for proj in Projection.allCases {
                    let m = p + LlamaTensorNames.module(proj)
                    projections[proj] = LinearGradientFields(weight: self[m + ".weight"],
                                                             bias: contains(m + ".bias") ? self[m + ".bias"] : nil)
                }
                return LlamaLayerGradientFields(inputNorm: self[p + "input_layernorm.weight"],
                                                postAttentionNorm: self[p + "post_attention_layernorm.weight"],
                                                projections: projections)
            }
        }
        set {
            for (i, l) in newValue.enumerated() {
                let p = "model.layers.\(i)."
                self[p + "input_layernorm.weight"] = l.inputNorm
                self[p + "post_attention_layernorm.weight"] = l.postAttentionNorm
                for (proj, g) in l.projections {
                    let m = p + LlamaTensorNames.module(proj)
                    self[m + ".weight"] = g.weight
                    if let b = g.bias { self[m + ".bias"] = b }
                }
            }
        }
    }
}
