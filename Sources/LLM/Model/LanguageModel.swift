import Compute

/// A decoder-only language model as every layer above LLM/ sees it (DESIGN.md §3–4), whatever
/// its architecture family:
///
///   tokens ─embed→ hidden [rows × hiddenSize] ─layers[0..<layerCount]→ hidden ─finalNormed→
///   head input [rows × headInputSize] ─head (W [vocab × headInputSize])→ logits
///
/// plus a parameter registry (every tensor by its Hugging Face name, shape and role) and the
/// linear layers of each block by `Projection` role, read at the four `LinearInputSite`s.
/// An architecture family (LLM/Llama, LLM/OPT) implements it in its own folder; code above
/// LLM/ never names a family.
public protocol LanguageModel: AnyObject {
    /// Hugging Face `model_type` ("llama", "mistral", "qwen2", "opt").
    var architecture: String { get }
    /// Width of the residual stream.
    var hiddenSize: Int { get }
    var vocabSize: Int { get }
    var layerCount: Int { get }
    /// Width of the rows the LM head reads (OPT-350m projects the stream down before its head).
    var headInputSize: Int { get }
    /// Longest sequence the model was trained for (a hard limit where positions are learned).
    var maxPositions: Int { get }
    /// Whether positions beyond `maxPositions` cannot be represented at all (learned tables).
    var hasLearnedPositions: Bool { get }

    /// Widths of block i (they differ between blocks after structured pruning).
    func blockShape(_ i: Int) -> BlockShape
    /// The projection roles every block of this family has, in forward order.
    var projections: [Projection] { get }
    /// Hugging Face module path of projection p in block i, e.g. "model.layers.3.mlp.up_proj".
    func moduleName(_ p: Projection, layer i: Int) -> String
    func linear(_ p: Projection, layer i: Int) -> Linear
    func setLinear(_ linear: Linear, _ p: Projection, layer i: Int)

    /// Every parameter tensor, in a fixed order (embedding, blocks in order, final tensors).
    var parameters: [ParameterTensor] { get }
    /// Reads or edits one parameter in place, by Hugging Face name (see `parameters`).
    func withParameter<R>(_ name: String, _ body: (inout [Float]) throws -> R) rethrows -> R

    /// Input embeddings of tokens at positions startPosition..<startPosition+count, [count × hidden].
    func embed(_ tokens: [Int32], startPosition: Int) throws -> [Float]
    /// Input embeddings of several sequences packed together (positions restart per segment
    /// after its prefix; see `AttentionSegment`).
    func embed(packed tokens: [Int32], segments: [AttentionSegment]) throws -> [Float]
    /// Runs blocks `range` in place (see `LlamaModel.runLayers` for cache and hooks).
    func runLayers(_ range: Range<Int>, hidden: inout [Float], cache: KVCache?,
                   observer: LinearInputObserver?, stopAfter: LinearInputSite?) throws
    /// Runs one block from where `cursor` stands (its input, or a site it stopped at) up to
    /// `stop` (a site: its input is then left in the cursor) or to the block's output (nil).
    /// Windows start at position 0, without a cache. One-pass pruning walks a block this way.
    func runLayer(_ i: Int, cursor: inout BlockCursor, to stop: LinearInputSite?, observer: LinearInputObserver?)
    /// Runs every block over sequences packed together (one GEMM per projection for all).
    func runLayers(packed hidden: inout [Float], segments: [AttentionSegment])
    /// What the LM head reads: the final norm (and projection) of hidden [rows × hidden].
    func finalNormed(_ hidden: [Float]) -> [Float]
    /// Calls body with the LM head matrix [vocab × headInputSize] (the embedding when tied).
    func withHeadWeights<R>(_ body: (UnsafePointer<Float>) -> R) -> R
    /// The LM head held in a `BlockEncoding` for inference (`useWeights`); nil: the float32 head.
    /// Training and pruning always read the float32 head.
    var encodedHead: EncodedMatrix? { get set }
    func makeCache(capacity: Int) -> KVCache

    /// Adds ∂L/∂θ of one sequence's loss (`SequenceObjective`) into the parameters `gradients`
    /// holds (frozen ones are skipped) and returns the loss's sums.
    func accumulateGradients(tokens: [Int32], objective: SequenceObjective,
                             into gradients: inout ModelGradients) throws -> ObjectiveSums
    /// The same for a micro-batch of sequences, each with weight `weight` per target; a family
    /// may pack them into one pass (Llama does), the default runs them one by one.
    func accumulateGradients(batch: [TrainingExample], weight: Float, distillation: Distillation?,
                             into gradients: inout ModelGradients) throws -> ObjectiveSums

    /// The same family of model with other tensors (e.g. structurally pruned): `widths[i]` are
    /// the widths of new block i, `hiddenSize` the new residual width, and `tensor` gives each
    /// parameter of the new model by name and shape.
    func rebuilt(hiddenSize: Int, widths: [BlockShape], tensor: (String, [Int]) throws -> [Float]) throws -> LanguageModel
    /// `rebuilt` with each block built only when the residency loads it (streamed structured
    /// pruning: a pruned block is cut from the source block as it is written).
    func streamedRebuild(hiddenSize: Int, widths: [BlockShape],
                         tensor: @escaping (String, [Int]) throws -> [Float]) throws -> (model: LanguageModel, residency: LayerResidency)
    /// Each window's gradient for one block's parameters at a time, from the top block down
    /// (see `LlamaModel.blockwiseGradients`); a family without it throws.
    func blockwiseGradients(windows: [[Int32]], residency: LayerResidency?, lowestLayer: Int,
                            needsGradient: (Int) -> Bool,
                            window: (_ layer: Int, _ gradient: ModelGradients) throws -> Void,
                            blockDone: (_ layer: Int) throws -> Void) throws
    /// config.json of the model as it is now (widths per layer included).
    func huggingFaceConfig() -> [String: Any]
}

extension LanguageModel {
    public func streamedRebuild(hiddenSize: Int, widths: [BlockShape],
                                tensor: @escaping (String, [Int]) throws -> [Float]) throws -> (model: LanguageModel, residency: LayerResidency) {
        throw LLMError.streamingUnsupported(architecture: architecture)
    }

    public func blockwiseGradients(windows: [[Int32]], residency: LayerResidency?, lowestLayer: Int,
                                   needsGradient: (Int) -> Bool,
                                   window: (_ layer: Int, _ gradient: ModelGradients) throws -> Void,
                                   blockDone: (_ layer: Int) throws -> Void) throws {
        throw GradientError.unsupportedArchitecture(architecture)
    }
}

/// Widths of one decoder block.
public struct BlockShape: Equatable, Sendable {
    public var heads: Int
    public var kvHeads: Int
    public var headDim: Int
    public var intermediateSize: Int

    public init(heads: Int, kvHeads: Int, headDim: Int, intermediateSize: Int) {
        self.heads = heads; self.kvHeads = kvHeads; self.headDim = headDim; self.intermediateSize = intermediateSize
    }

    public var queryWidth: Int { heads * headDim }
    public var kvWidth: Int { kvHeads * headDim }
}

/// Where inside a decoder block a linear layer's input can be observed (calibration): the
/// same input feeds several projections. Every family has these four, in this order.
public enum LinearInputSite: Int, CaseIterable, Comparable, Sendable {
    case attentionInput    // what q, k, v read (the normed block input)
    case attentionOutput   // concatenated heads: what o reads
    case mlpInput          // what gate/up (fc1) read
    case mlpHidden         // the activated MLP hidden: what down (fc2) reads

    public static func < (a: Self, b: Self) -> Bool { a.rawValue < b.rawValue }
}

/// Sees each linear input of a block as it is computed: (site, rows × columns buffer).
public typealias LinearInputObserver = (LinearInputSite, UnsafePointer<Float>, _ rows: Int, _ columns: Int) -> Void

/// One window's progress through a block taken site by site (`LanguageModel.runLayer`):
/// the residual stream and, after a stop, the input of the site it stopped at.
public struct BlockCursor {
    public var hidden: [Float]           // rows × hidden
    public var site: [Float] = []        // rows × (that site's width)
    /// The site the last run stopped at (nil: at the block input, or finished).
    public private(set) var stoppedAt: LinearInputSite?
    /// Whether the block has run to its output (`hidden` is the block's output).
    public private(set) var finished = false
    /// The forward's scratch, kept from site to site and block to block (allocating it per call
    /// cost one-pass pruning ~10 % in page faults).
    var scratch: ForwardScratch?

    public init(hidden: [Float]) { self.hidden = hidden }

    /// Records where a family's block forward stopped (nil: it ran to the output).
    public mutating func advance(stoppedAt site: LinearInputSite?) {
        stoppedAt = site
        finished = site == nil
    }
}

// MARK: - What every family gets from the interface

extension LanguageModel {
    public func embed(_ tokens: [Int32]) throws -> [Float] { try embed(tokens, startPosition: 0) }

    public func runLayers(_ range: Range<Int>, hidden: inout [Float], cache: KVCache? = nil) throws {
        try runLayers(range, hidden: &hidden, cache: cache, observer: nil, stopAfter: nil)
    }

    public func runLayers(_ range: Range<Int>, hidden: inout [Float], observer: LinearInputObserver?,
                          stopAfter: LinearInputSite? = nil) throws {
        try runLayers(range, hidden: &hidden, cache: nil, observer: observer, stopAfter: stopAfter)
    }

    public func accumulateGradients(batch: [TrainingExample], weight: Float, distillation: Distillation?,
                                    into gradients: inout ModelGradients) throws -> ObjectiveSums {
        var sums = ObjectiveSums()
        for e in batch {
            sums += try accumulateGradients(tokens: e.tokens, objective: SequenceObjective(labels: e.labels, weight: weight,
                                                                                         distillation: distillation),
                                            into: &gradients)
        }
        return sums
    }

    /// Adds scale·∂L/∂θ of the mean next-token loss of one window into `gradients` and returns L.
    public func accumulateGradients(tokens: [Int32], into gradients: inout ModelGradients, scale: Float = 1) throws -> Float {
        let sums = try accumulateGradients(tokens: tokens, objective: .window(tokens, scale: scale), into: &gradients)
        return Float(sums.crossEntropy / Double(sums.targets))
    }

    /// The mean next-token cross-entropy of one window (Hugging Face's
    /// `model(tokens, labels=tokens).loss`) and its gradient for every parameter.
    public func gradients(tokens: [Int32]) throws -> (loss: Float, gradients: ModelGradients) {
        var g = ModelGradients(like: self)
        let loss = try accumulateGradients(tokens: tokens, into: &g, scale: 1)
        return (loss, g)
    }

    /// Logits [rows × vocab] for head inputs (`finalNormed`).
    public func headLogits(normed: [Float]) -> [Float] {
        let rows = normed.count / headInputSize
        var logits = [Float](repeating: 0, count: rows * vocabSize)
        normed.withUnsafeBufferPointer { x in
            logits.withUnsafeMutableBufferPointer { y in applyHead(x.baseAddress!, rows: rows, into: y.baseAddress!) }
        }
        return logits
    }

    /// logits [rows × vocab] = x [rows × headInputSize] · Headᵀ, from the encoded head when there is one.
    public func applyHead(_ x: UnsafePointer<Float>, rows: Int, into logits: UnsafeMutablePointer<Float>) {
        if let encodedHead { return encodedHead.multiply(x, rows: rows, into: logits) }
        withHeadWeights { h in
            BLAS.linear(x, rows: rows, inFeatures: headInputSize, weight: h, outFeatures: vocabSize, into: logits)
        }
    }

    /// Logits for every position, [tokens.count × vocab]; with a cache the tokens continue it.
    public func logits(_ tokens: [Int32], cache: KVCache? = nil) throws -> [Float] {
        var h = try embed(tokens, startPosition: cache?.length ?? 0)
        try runLayers(0..<layerCount, hidden: &h, cache: cache)
        return headLogits(normed: finalNormed(h))
    }

    /// Logits of the last position only (what decoding needs), [vocab].
    public func lastLogits(_ tokens: [Int32], cache: KVCache? = nil) throws -> [Float] {
        var h = try embed(tokens, startPosition: cache?.length ?? 0)
        try runLayers(0..<layerCount, hidden: &h, cache: cache)
        return headLogits(normed: finalNormed(Array(h[(h.count - hiddenSize)...])))
    }

    /// Parameters, all of them (a tied head counts once).
    public var parameterCount: Int { parameters.reduce(0) { $0 + $1.count } }

    /// Parameters of block i (its norms, projections and biases).
    public func parameterCount(layer i: Int) -> Int {
        parameters.reduce(0) { n, t in t.role.layer == i ? n + t.count : n }
    }

    /// Parameters that are exactly zero (pruned, or zero in the checkpoint).
    public var zeroParameterCount: Int { zeroParameterCount { _ in true } }

    /// Zero parameters among the tensors `include` selects (resident ones: a streamed block
    /// between uses holds no values).
    public func zeroParameterCount(where include: (ParameterTensor) -> Bool) -> Int {
        parameters.reduce(0) { n, p in
            guard include(p) else { return n }
            return n + withParameter(p.name) { v in v.reduce(0) { $0 + ($1 == 0 ? 1 : 0) } }
        }
    }

    /// The widths of every block.
    public var blockShapes: [BlockShape] { (0..<layerCount).map(blockShape) }

    /// Holds every block linear layer in `format` for inference. Pruning and writing need dense
    /// storage: call `useSparseFormat(.dense)` first (it restores the weights).
    @discardableResult
    public func useSparseFormat(_ format: SparseFormat) throws -> SparseConversionSummary {
        var summary = SparseConversionSummary()
        for i in 0..<layerCount {
            for p in projections {
                var l = linear(p, layer: i)
                try l.useSparseFormat(format, name: moduleName(p, layer: i))
                setLinear(l, p, layer: i)
                summary.matrices[l.storage.name, default: 0] += 1
            }
        }
        return summary
    }
}
