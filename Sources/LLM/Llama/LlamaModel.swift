import Compute
import ModelIO

/// A Llama-family causal language model (Llama 1–3, TinyLlama, SmolLM, Mistral, Qwen2) held
/// in float32. Execution is layer by layer — `embed` → `layers[i]` → `head` — so that
/// calibration and evaluation can walk one layer at a time (DESIGN.md §4).
public final class LlamaModel: BlockStack {
    public var config: ModelConfig
    public var embedding: [Float]            // vocab × hidden
    public var layers: [LlamaBlock]
    public var finalNorm: [Float]
    public var lmHead: [Float]?              // vocab × hidden; nil when tied to the embedding
    public var encodedHead: EncodedMatrix?   // vocab × hidden, for inference only (`useWeights`)
    public let rope: RotaryEmbedding

    public var architecture: String { config.architecture }
    public var hiddenSize: Int { config.hiddenSize }
    public var vocabSize: Int { config.vocabSize }
    public var layerCount: Int { layers.count }
    public var headInputSize: Int { config.hiddenSize }
    public var maxPositions: Int { config.maxPositionEmbeddings }
    public var hasLearnedPositions: Bool { false }

    public init(config: ModelConfig, embedding: [Float], layers: [LlamaBlock], finalNorm: [Float], lmHead: [Float]?) {
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
        try self.init(config: checkpoint.config, tensors: checkpoint)
    }

    /// Builds the model for `config` from named tensors (a checkpoint, or a model being rebuilt).
    /// `resident: false` leaves the blocks in the source (shapes only) for `LlamaLayerStream`
    /// to bring in one at a time.
    public convenience init(config c: ModelConfig, tensors: TensorSource, resident: Bool = true) throws {
        guard c.numLayers > 0, c.hiddenSize > 0, c.vocabSize > 0, c.headDim > 0, c.headDim % 2 == 0,
              c.numKVHeads.count == c.numLayers, c.intermediateSizes.count == c.numLayers else {
            throw LLMError.invalidConfig("layers \(c.numLayers), hidden \(c.hiddenSize), vocab \(c.vocabSize), head_dim \(c.headDim)")
        }
        func load(_ name: String, _ shape: [Int]) throws -> [Float] { try tensors.loadChecked(name, shape) }
        func optional(_ name: String, _ shape: [Int]) throws -> [Float]? {
            tensors.shape(of: name) == nil ? nil : try load(name, shape)
        }
        let d = c.hiddenSize
        let embedding = try load(LlamaTensorNames.embedding.hf, [c.vocabSize, d])
        var layers: [LlamaBlock] = []
        for i in 0..<c.numLayers {
            layers.append(resident ? try Self.block(i, config: c, tensors: tensors) : try Self.placeholderBlock(i, config: c, tensors: tensors))
        }
        let norm = try load(LlamaTensorNames.finalNorm.hf, [d])
        let head = c.tieWordEmbeddings ? nil : try optional(LlamaTensorNames.head.hf, [c.vocabSize, d])
        if !c.tieWordEmbeddings && head == nil { throw TensorSourceError.missingTensor(LlamaTensorNames.head.hf) }
        self.init(config: c, embedding: embedding, layers: layers, finalNorm: norm, lmHead: head)
    }

    /// Block i of a model with `config`, read from `tensors`.
    static func block(_ i: Int, config c: ModelConfig, tensors: TensorSource) throws -> LlamaBlock {
        func load(_ name: String, _ shape: [Int]) throws -> [Float] { try tensors.loadChecked(name, shape) }
        func optional(_ name: String, _ shape: [Int]) throws -> [Float]? {
            tensors.shape(of: name) == nil ? nil : try load(name, shape)
        }
        let (h, kvh, inter, hd, d) = try widths(i, config: c)
        let p = "model.layers.\(i)."
        func linear(_ proj: Projection, _ out: Int, _ inp: Int, bias: Bool = false) throws -> Linear {
            let name = p + LlamaTensorNames.module(proj)
            let w = try load(name + ".weight", [out, inp])
            let b = bias ? try optional(name + ".bias", [out]) : nil
            return Linear(weight: w, outFeatures: out, inFeatures: inp, bias: b)
        }
        let bias = c.attentionBias
        return LlamaBlock(
            inputNorm: try load(p + LlamaTensorNames.inputNorm.hf + ".weight", [d]),
            q: try linear(.q, h * hd, d, bias: bias),
            k: try linear(.k, kvh * hd, d, bias: bias),
            v: try linear(.v, kvh * hd, d, bias: bias),
            o: try linear(.o, d, h * hd),
            postAttentionNorm: try load(p + LlamaTensorNames.postAttentionNorm.hf + ".weight", [d]),
            gate: try linear(.gate, inter, d),
            up: try linear(.up, inter, d),
            down: try linear(.down, d, inter),
            heads: h, kvHeads: kvh, headDim: hd)
    }

    /// Block i's shape without its weights.
    static func placeholderBlock(_ i: Int, config c: ModelConfig, tensors: TensorSource) throws -> LlamaBlock {
        let (h, kvh, inter, hd, d) = try widths(i, config: c)
        func lin(_ out: Int, _ inp: Int, _ bias: Bool = false) -> Linear { Linear(shapeOnly: out, inp, bias: bias) }
        func b(_ p: Projection) -> Bool {
            c.attentionBias && tensors.shape(of: "model.layers.\(i)." + LlamaTensorNames.module(p) + ".bias") != nil
        }
        return LlamaBlock(inputNorm: [], q: lin(h * hd, d, b(.q)), k: lin(kvh * hd, d, b(.k)), v: lin(kvh * hd, d, b(.v)), o: lin(d, h * hd),
                          postAttentionNorm: [], gate: lin(inter, d), up: lin(inter, d), down: lin(d, inter),
                          heads: h, kvHeads: kvh, headDim: hd)
    }

    /// Heads, kv heads, MLP width, head dim and hidden size of block i, checked.
    static func widths(_ i: Int, config c: ModelConfig) throws -> (Int, Int, Int, Int, Int) {
        let h = c.numHeads[i], kvh = c.numKVHeads[i]
        guard kvh == 0 ? h == 0 : h % kvh == 0 else {
            throw LLMError.invalidConfig("layer \(i): \(h) heads is not a multiple of \(kvh) kv heads")
        }
        return (h, kvh, c.intermediateSizes[i], c.headDim, c.hiddenSize)
    }

    // MARK: - Layer-by-layer API

    /// Token embeddings, [tokens.count × hidden] (positions enter later, through RoPE).
    public func embed(_ tokens: [Int32], startPosition: Int) throws -> [Float] {
        let d = hiddenSize
        var out = [Float](repeating: 0, count: tokens.count * d)
        for (r, t) in tokens.enumerated() {
            guard t >= 0 && Int(t) < vocabSize else { throw LLMError.tokenOutOfRange(token: t, vocabSize: vocabSize) }
            let src = Int(t) * d
            for j in 0..<d { out[r * d + j] = embedding[src + j] }
        }
        return out
    }

    public func embed(packed tokens: [Int32], segments: [AttentionSegment]) throws -> [Float] {
        try embed(tokens, startPosition: 0)
    }

    public func runBlock(_ i: Int, hidden: UnsafeMutablePointer<Float>, rows: Int, startPosition: Int,
                         kv: (keys: UnsafeMutablePointer<Float>, values: UnsafeMutablePointer<Float>)?,
                         scratch: ForwardScratch, hooks: BlockHooks, segments: [AttentionSegment]?) -> Bool {
        layers[i].forward(hidden: hidden, rows: rows, hiddenSize: hiddenSize, startPosition: startPosition, kv: kv,
                          rope: rope, eps: config.rmsNormEps, scratch: scratch, hooks: hooks, segments: segments)
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
}
