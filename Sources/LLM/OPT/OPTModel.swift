import Compute
import Foundation
import ModelIO

/// An OPT causal language model (Zhang et al. 2022; transformers' OPTForCausalLM) in float32:
///   hidden = project_in(E[token]) + P[position + 2]
///   hidden → blocks → (pre-LN: final LayerNorm) → project_out → logits = · E_headᵀ (tied to E)
/// project_in/out exist only when word_embed_proj_dim ≠ hidden_size (opt-350m).
public final class OPTModel: BlockStack {
    public var config: OPTConfig
    public var embedding: [Float]              // [vocab × wordEmbedProjDim], also the head
    public var positions: [Float]              // [maxPositions + 2 × hidden]
    public var projectIn: Linear?              // [hidden × wordEmbedProjDim]
    public var projectOut: Linear?             // [wordEmbedProjDim × hidden]
    public var finalNorm: LayerNormWeights?    // pre-LN models only
    public var layers: [OPTBlock]
    public var encodedHead: EncodedMatrix?     // [vocab × wordEmbedProjDim], for inference only (`useWeights`)
    static let eps: Float = 1e-5               // torch.nn.LayerNorm's default; OPT's config has no key for it

    public var architecture: String { "opt" }
    public var hiddenSize: Int { config.hiddenSize }
    public var vocabSize: Int { config.vocabSize }
    public var layerCount: Int { layers.count }
    public var headInputSize: Int { config.wordEmbedProjDim }
    public var maxPositions: Int { config.maxPositionEmbeddings }
    public var hasLearnedPositions: Bool { true }
    public var projections: [Projection] { OPTTensorNames.projections.map(\.projection) }

    /// Builds the model for `config` from named tensors (a checkpoint, or a model being rebuilt).
    public init(config c: OPTConfig, tensors: TensorSource) throws {
        guard !c.tieWordEmbeddings || tensors.shape(of: OPTTensorNames.head) == nil
                || tensors.shape(of: OPTTensorNames.head) == [c.vocabSize, c.wordEmbedProjDim] else {
            throw TensorSourceError.shapeMismatch(name: OPTTensorNames.head, expected: [c.vocabSize, c.wordEmbedProjDim],
                                                 found: tensors.shape(of: OPTTensorNames.head)!)
        }
        if !c.tieWordEmbeddings {
            throw LLMError.invalidConfig("OPT with an untied LM head (tie_word_embeddings false) is not supported")
        }
        let d = c.hiddenSize, e = c.wordEmbedProjDim
        func load(_ name: String, _ shape: [Int]) throws -> [Float] { try tensors.loadChecked(name, shape) }
        func norm(_ prefix: String) throws -> LayerNormWeights {
            c.layerNormElementwiseAffine
                ? LayerNormWeights(weight: try load(prefix + ".weight", [d]), bias: try load(prefix + ".bias", [d]), eps: Self.eps)
                : LayerNormWeights(weight: nil, bias: nil, eps: Self.eps)
        }
        func linear(_ name: String, _ out: Int, _ inp: Int) throws -> Linear {
            Linear(weight: try load(name + ".weight", [out, inp]), outFeatures: out, inFeatures: inp,
                   bias: c.enableBias ? try load(name + ".bias", [out]) : nil)
        }
        config = c
        embedding = try load(OPTTensorNames.embedding, [c.vocabSize, e])
        positions = try load(OPTTensorNames.positions, [c.maxPositionEmbeddings + OPTTensorNames.positionOffset, d])
        projectIn = e == d ? nil : Linear(weight: try load(OPTTensorNames.projectIn, [d, e]), outFeatures: d, inFeatures: e)
        projectOut = e == d ? nil : Linear(weight: try load(OPTTensorNames.projectOut, [e, d]), outFeatures: e, inFeatures: d)
        finalNorm = c.doLayerNormBefore && !c.removeFinalLayerNorm ? try norm(OPTTensorNames.finalNorm) : nil
        let heads = c.heads, ffn = c.ffnDims, hd = c.headDim
        layers = try (0..<c.numHiddenLayers).map { i in
            let p = OPTTensorNames.layer(i)
            func proj(_ r: Projection, _ out: Int, _ inp: Int) throws -> Linear { try linear(p + OPTTensorNames.module(r), out, inp) }
            return OPTBlock(attentionNorm: try norm(p + OPTTensorNames.attentionNorm),
                            q: try proj(.q, heads[i] * hd, d), k: try proj(.k, heads[i] * hd, d),
                            v: try proj(.v, heads[i] * hd, d), o: try proj(.o, d, heads[i] * hd),
                            mlpNorm: try norm(p + OPTTensorNames.mlpNorm),
                            fc1: try proj(.up, ffn[i], d), fc2: try proj(.down, d, ffn[i]),
                            heads: heads[i], headDim: hd, normBefore: c.doLayerNormBefore)
        }
    }

    /// Loads an OPT Hugging Face directory (config.json + safetensors).
    public convenience init(directory: String) throws {
        let config = try OPTConfig.load(path: (directory as NSString).appendingPathComponent(HFCheckpoint.configFileName))
        try self.init(config: config, tensors: try SafetensorsDirectory(directory: directory))
    }

    public func blockShape(_ i: Int) -> BlockShape { layers[i].shape }
    public func moduleName(_ p: Projection, layer i: Int) -> String { OPTTensorNames.layer(i) + OPTTensorNames.module(p) }
    public func linear(_ p: Projection, layer i: Int) -> Linear { layers[i][p] }
    public func setLinear(_ linear: Linear, _ p: Projection, layer i: Int) { layers[i][p] = linear }

    // MARK: - Execution

    /// project_in(E[token]) + P[position + 2] for each token at its position.
    func embed(_ tokens: [Int32], positionsOf position: (Int) -> Int) throws -> [Float] {
        let d = hiddenSize, e = config.wordEmbedProjDim
        var words = [Float](repeating: 0, count: tokens.count * e)
        for (r, t) in tokens.enumerated() {
            guard t >= 0 && Int(t) < vocabSize else { throw LLMError.tokenOutOfRange(token: t, vocabSize: vocabSize) }
            for j in 0..<e { words[r * e + j] = embedding[Int(t) * e + j] }
        }
        var out: [Float]
        if let projectIn {
            out = [Float](repeating: 0, count: tokens.count * d)
            words.withUnsafeBufferPointer { w in
                out.withUnsafeMutableBufferPointer { o in projectIn.apply(w.baseAddress!, rows: tokens.count, into: o.baseAddress!) }
            }
        } else {
            out = words
        }
        for r in tokens.indices {
            let p = position(r)
            guard p < maxPositions else { throw LLMError.contextTooLong(requested: p + 1, capacity: maxPositions) }
            let row = (p + OPTTensorNames.positionOffset) * d
            for j in 0..<d { out[r * d + j] += positions[row + j] }
        }
        return out
    }

    public func embed(_ tokens: [Int32], startPosition: Int) throws -> [Float] {
        try embed(tokens) { startPosition + $0 }
    }

    public func embed(packed tokens: [Int32], segments: [AttentionSegment]) throws -> [Float] {
        var position = [Int](repeating: 0, count: tokens.count)
        for s in segments { for r in 0..<s.count { position[s.start + r] = s.prefixCount + r } }
        return try embed(tokens) { position[$0] }
    }

    public func runBlock(_ i: Int, hidden: UnsafeMutablePointer<Float>, rows: Int, startPosition: Int,
                         kv: (keys: UnsafeMutablePointer<Float>, values: UnsafeMutablePointer<Float>)?,
                         scratch: ForwardScratch, hooks: BlockHooks, segments: [AttentionSegment]?) -> Bool {
        layers[i].forward(hidden: hidden, rows: rows, hiddenSize: hiddenSize, startPosition: startPosition, kv: kv,
                          scratch: scratch, hooks: hooks, segments: segments)
    }

    /// Final LayerNorm (pre-LN models) then project_out: what the tied head reads.
    public func finalNormed(_ hidden: [Float]) -> [Float] {
        let rows = hidden.count / hiddenSize
        var normed = hidden
        if let finalNorm {
            hidden.withUnsafeBufferPointer { h in
                normed.withUnsafeMutableBufferPointer { o in finalNorm.apply(h.baseAddress!, rows: rows, dim: hiddenSize, into: o.baseAddress!) }
            }
        }
        guard let projectOut else { return normed }
        var out = [Float](repeating: 0, count: rows * config.wordEmbedProjDim)
        normed.withUnsafeBufferPointer { x in
            out.withUnsafeMutableBufferPointer { o in projectOut.apply(x.baseAddress!, rows: rows, into: o.baseAddress!) }
        }
        return out
    }

    public func withHeadWeights<R>(_ body: (UnsafePointer<Float>) -> R) -> R {
        embedding.withUnsafeBufferPointer { body($0.baseAddress!) }
    }
}
