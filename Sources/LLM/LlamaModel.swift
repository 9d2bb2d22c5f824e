import Compute
import ModelIO

/// A Llama-family causal language model (Llama 1–3, TinyLlama, SmolLM, Mistral, Qwen2) held
/// in float32. Execution is layer by layer — `embed` → `layers[i]` → `head` — so that
/// calibration and evaluation can walk one layer at a time (DESIGN.md §4).
public final class LlamaModel {
    public var config: ModelConfig
    public var embedding: [Float]            // vocab × hidden
    public var layers: [DecoderLayer]
    public var finalNorm: [Float]
    public var lmHead: [Float]?              // vocab × hidden; nil when tied to the embedding
    public let rope: RotaryEmbedding

    public var hiddenSize: Int { config.hiddenSize }
    public var vocabSize: Int { config.vocabSize }

    public init(config: ModelConfig, embedding: [Float], layers: [DecoderLayer], finalNorm: [Float], lmHead: [Float]?) {
        self.config = config
        self.embedding = embedding; self.layers = layers
        self.finalNorm = finalNorm; self.lmHead = lmHead
        let s = config.ropeScaling
        rope = RotaryEmbedding(headDim: config.headDim, theta: config.ropeTheta, scalingType: s?.type,
                               factor: s?.factor ?? 1, lowFreqFactor: s?.lowFreqFactor ?? 1,
                               highFreqFactor: s?.highFreqFactor ?? 4,
                               originalMaxPositions: s?.originalMaxPositionEmbeddings ?? 8192,
                               frequencyDivisors: s?.frequencyDivisors)
    }

    /// Builds the model from any checkpoint (GGUF, safetensors directory) in HF naming.
    public convenience init(checkpoint: CheckpointSource) throws {
        let c = checkpoint.config
        guard c.numLayers > 0, c.hiddenSize > 0, c.vocabSize > 0, c.headDim > 0, c.headDim % 2 == 0,
              c.numKVHeads.count == c.numLayers, c.intermediateSizes.count == c.numLayers else {
            throw LLMError.invalidConfig("layers \(c.numLayers), hidden \(c.hiddenSize), vocab \(c.vocabSize), head_dim \(c.headDim)")
        }
        func load(_ name: String, _ shape: [Int]) throws -> [Float] {
            guard let found = checkpoint.shape(of: name) else { throw LLMError.missingTensor(name) }
            guard found == shape else { throw LLMError.shapeMismatch(name: name, expected: shape, found: found) }
            let values = try checkpoint.loadFloat32(name)
            guard values.count == shape.reduce(1, *) else {
                throw LLMError.shapeMismatch(name: name, expected: shape, found: [values.count])
            }
            guard LlamaModel.allFinite(values) else { throw LLMError.nonFiniteWeights(name) }
            return values
        }
        func optional(_ name: String, _ shape: [Int]) throws -> [Float]? {
            checkpoint.shape(of: name) == nil ? nil : try load(name, shape)
        }
        let d = c.hiddenSize, hd = c.headDim
        let embedding = try load("model.embed_tokens.weight", [c.vocabSize, d])
        var layers: [DecoderLayer] = []
        for i in 0..<c.numLayers {
            let p = "model.layers.\(i)."
            let h = c.numHeads[i], kvh = c.numKVHeads[i], inter = c.intermediateSizes[i]
            guard kvh == 0 ? h == 0 : h % kvh == 0 else {
                throw LLMError.invalidConfig("layer \(i): \(h) heads is not a multiple of \(kvh) kv heads")
            }
            func linear(_ name: String, _ out: Int, _ inp: Int, bias: Bool = false) throws -> Linear {
                let w = try load(p + name + ".weight", [out, inp])
                let b = bias ? try optional(p + name + ".bias", [out]) : nil
                return Linear(weight: w, outFeatures: out, inFeatures: inp, bias: b)
            }
            let bias = c.attentionBias
            layers.append(DecoderLayer(
                inputNorm: try load(p + "input_layernorm.weight", [d]),
                q: try linear("self_attn.q_proj", h * hd, d, bias: bias),
                k: try linear("self_attn.k_proj", kvh * hd, d, bias: bias),
                v: try linear("self_attn.v_proj", kvh * hd, d, bias: bias),
                o: try linear("self_attn.o_proj", d, h * hd),
                postAttentionNorm: try load(p + "post_attention_layernorm.weight", [d]),
                gate: try linear("mlp.gate_proj", inter, d),
                up: try linear("mlp.up_proj", inter, d),
                down: try linear("mlp.down_proj", d, inter),
                heads: h, kvHeads: kvh, headDim: hd))
        }
        let norm = try load("model.norm.weight", [d])
        let head = c.tieWordEmbeddings ? nil : try optional("lm_head.weight", [c.vocabSize, d])
        if !c.tieWordEmbeddings && head == nil { throw LLMError.missingTensor("lm_head.weight") }
        self.init(config: c, embedding: embedding, layers: layers, finalNorm: norm, lmHead: head)
    }

    /// Whether every value is finite (no NaN, no ±Inf). One cheap pass: the exponent field of
    /// each float is all ones exactly for NaN/Inf, and adding one to it then carries into the
    /// top bit; an OR-reduction over integers (which vectorizes) collects that bit.
    public static func allFinite(_ values: [Float]) -> Bool {
        values.withUnsafeBufferPointer { b in
            b.withMemoryRebound(to: UInt32.self) { u in
                var acc: UInt32 = 0
                for x in u { acc |= (x & 0x7F80_0000) &+ 0x0080_0000 }
                return acc & 0x8000_0000 == 0
            }
        }
    }

    public var kvCacheShape: ModelConfigView { ModelConfigView(kvWidths: layers.map(\.kvWidth)) }

    public func makeCache(capacity: Int) -> KVCache { KVCache(config: kvCacheShape, capacity: capacity) }

    public var parameterCount: Int {
        embedding.count + finalNorm.count + (lmHead?.count ?? 0) + layers.reduce(0) { $0 + $1.parameterCount }
    }

    func makeScratch(rows: Int) -> ForwardScratch {
        ForwardScratch(rows: rows, hidden: hiddenSize,
                       maxQWidth: layers.map { $0.heads * $0.headDim }.max() ?? 0,
                       maxKVWidth: layers.map(\.kvWidth).max() ?? 0,
                       maxIntermediate: layers.map(\.intermediateSize).max() ?? 0)
    }

    // MARK: - Layer-by-layer API

    /// Token embeddings, [tokens.count × hidden].
    public func embed(_ tokens: [Int32]) throws -> [Float] {
        let d = hiddenSize
        var out = [Float](repeating: 0, count: tokens.count * d)
        for (r, t) in tokens.enumerated() {
            guard t >= 0 && Int(t) < vocabSize else { throw LLMError.tokenOutOfRange(token: t, vocabSize: vocabSize) }
            let src = Int(t) * d
            for j in 0..<d { out[r * d + j] = embedding[src + j] }
        }
        return out
    }

    /// Runs layers `range` in place over hidden [rows × hidden] (rows = hidden.count / hiddenSize).
    /// With a cache the rows continue the cached sequence and their keys/values are appended.
    /// `stopAfter` (statistics passes, one layer, no cache): each layer returns once the observer has
    /// seen that site, so `hidden` is not the layer's output.
    public func runLayers(_ range: Range<Int>, hidden: inout [Float], cache: KVCache? = nil,
                          observer: LinearInputObserver? = nil, stopAfter: LinearInputSite? = nil) throws {
        let rows = hidden.count / hiddenSize
        let start = cache?.length ?? 0
        if let cache, start + rows > cache.capacity {
            throw LLMError.contextTooLong(requested: start + rows, capacity: cache.capacity)
        }
        let scratch = makeScratch(rows: rows)
        hidden.withUnsafeMutableBufferPointer { hb in
            for i in range {
                let kv = cache.map { (keys: $0.keys[i], values: $0.values[i]) }
                layers[i].forward(hidden: hb.baseAddress!, rows: rows, hiddenSize: hiddenSize,
                                  startPosition: start, kv: kv, rope: rope, eps: config.rmsNormEps, scratch: scratch,
                                  observer: observer, stopAfter: stopAfter)
            }
        }
        if let cache, range.upperBound == layers.count { cache.length = start + rows }
    }

    /// Runs every layer in place over hidden [rows × hidden] holding several sequences packed
    /// together (`segments` must cover the rows; a prefix must be a whole earlier segment that has no
    /// prefix itself): one GEMM per projection for all of them, attention within each sequence.
    public func runLayers(packed hidden: inout [Float], segments: [AttentionSegment]) {
        let rows = hidden.count / hiddenSize
        precondition(segments.reduce(0) { $0 + $1.count } == rows, "segments must cover the \(rows) rows")
        let scratch = makeScratch(rows: rows)
        hidden.withUnsafeMutableBufferPointer { hb in
            for layer in layers {
                layer.forward(hidden: hb.baseAddress!, rows: rows, hiddenSize: hiddenSize, startPosition: 0, kv: nil,
                              rope: rope, eps: config.rmsNormEps, scratch: scratch, segments: segments)
            }
        }
    }

    /// Final RMSNorm of hidden [rows × hidden].
    public func finalNormed(_ hidden: [Float]) -> [Float] {
        let rows = hidden.count / hiddenSize
        var out = [Float](repeating: 0, count: hidden.count)
        hidden.withUnsafeBufferPointer { h in
            finalNorm.withUnsafeBufferPointer { w in
                out.withUnsafeMutableBufferPointer { o in
                    rmsNorm(h.baseAddress!, rows: rows, dim: hiddenSize, weight: w.baseAddress!,
                            eps: config.rmsNormEps, into: o.baseAddress!)
                }
            }
        }
        return out
    }

    /// Calls body with the LM head matrix [vocab × hidden] (the embedding when tied).
    public func withHeadWeights<R>(_ body: (UnsafePointer<Float>) -> R) -> R {
        if let lmHead { return lmHead.withUnsafeBufferPointer { body($0.baseAddress!) } }
        return embedding.withUnsafeBufferPointer { body($0.baseAddress!) }
    }

    /// Logits [rows × vocab] for normalized hidden states.
    public func headLogits(normed: [Float]) -> [Float] {
        let rows = normed.count / hiddenSize
        var logits = [Float](repeating: 0, count: rows * vocabSize)
        normed.withUnsafeBufferPointer { x in
            logits.withUnsafeMutableBufferPointer { y in
                withHeadWeights { w in
                    BLAS.linear(x.baseAddress!, rows: rows, inFeatures: hiddenSize, weight: w,
                                outFeatures: vocabSize, into: y.baseAddress!)
                }
            }
        }
        return logits
    }

    // MARK: - Whole-model conveniences

    /// Logits for every position, [tokens.count × vocab].
    public func logits(_ tokens: [Int32], cache: KVCache? = nil) throws -> [Float] {
        var h = try embed(tokens)
        try runLayers(0..<layers.count, hidden: &h, cache: cache)
        return headLogits(normed: finalNormed(h))
    }

    /// Logits of the last position only (what decoding needs), [vocab].
    public func lastLogits(_ tokens: [Int32], cache: KVCache? = nil) throws -> [Float] {
        var h = try embed(tokens)
        try runLayers(0..<layers.count, hidden: &h, cache: cache)
        let last = Array(h[(h.count - hiddenSize)...])
        return headLogits(normed: finalNormed(last))
    }
}
