import LLM

/// Test support (shared by the test targets): a Llama model's gradients by the fields the tests were written against
/// (`g.embedding`, `g.layers[i].q.weight`), read from and written back to the registry-shaped
/// `ModelGradients` buffer by Hugging Face name.
public struct LinearGradientFields {
    public var weight: [Float]
    public var bias: [Float]?
    public init(weight: [Float], bias: [Float]?) { self.weight = weight; self.bias = bias }
}

public struct LlamaLayerGradientFields {
    public var inputNorm: [Float]
    public var postAttentionNorm: [Float]
    public var projections: [Projection: LinearGradientFields]
    public var q: LinearGradientFields { get { self[.q] } set { self[.q] = newValue } }
    public var k: LinearGradientFields { get { self[.k] } set { self[.k] = newValue } }
    public var v: LinearGradientFields { get { self[.v] } set { self[.v] = newValue } }
    public var o: LinearGradientFields { get { self[.o] } set { self[.o] = newValue } }
    public var gate: LinearGradientFields { get { self[.gate] } set { self[.gate] = newValue } }
    public var up: LinearGradientFields { get { self[.up] } set { self[.up] = newValue } }
    public var down: LinearGradientFields { get { self[.down] } set { self[.down] = newValue } }
    public subscript(_ p: Projection) -> LinearGradientFields {
        get { projections[p]! }
        set { projections[p] = newValue }
    }
}

extension ModelGradients {
    public var embedding: [Float] { get { self[LlamaTensorNames.embedding.hf] } set { self[LlamaTensorNames.embedding.hf] = newValue } }
    public var finalNorm: [Float] { get { self[LlamaTensorNames.finalNorm.hf] } set { self[LlamaTensorNames.finalNorm.hf] = newValue } }
    public var lmHead: [Float]? {
        get { contains(LlamaTensorNames.head.hf) ? self[LlamaTensorNames.head.hf] : nil }
        set { if let v = newValue { self[LlamaTensorNames.head.hf] = v } }
    }
    public var layers: [LlamaLayerGradientFields] {
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
