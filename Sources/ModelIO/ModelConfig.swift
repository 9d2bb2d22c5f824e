/// Llama-3 style (or linear) RoPE frequency scaling, as in HF config `rope_scaling`.
public struct RopeScaling: Codable, Sendable, Equatable {
    public var type: String                 // "llama3" or "linear"
    public var factor: Float
    public var lowFreqFactor: Float
    public var highFreqFactor: Float
    public var originalMaxPositionEmbeddings: Int
    /// Explicit per-frequency divisors (llama.cpp's `rope_freqs.weight`): when present they
    /// replace the formula of `type` — inverse frequency i is divided by divisor i.
    public var frequencyDivisors: [Float]?

    public init(type: String, factor: Float, lowFreqFactor: Float = 1, highFreqFactor: Float = 4,
                originalMaxPositionEmbeddings: Int = 8192, frequencyDivisors: [Float]? = nil) {
        self.type = type; self.factor = factor; self.lowFreqFactor = lowFreqFactor
        self.highFreqFactor = highFreqFactor; self.originalMaxPositionEmbeddings = originalMaxPositionEmbeddings
        self.frequencyDivisors = frequencyDivisors
    }
}

/// Architecture of a Llama-family decoder, independent of the file it came from.
/// Head counts and MLP widths are per layer: structured pruning makes them differ.
public struct ModelConfig: Codable, Sendable, Equatable {
    public var architecture: String          // "llama", "mistral", "qwen2"
    public var vocabSize: Int
    public var hiddenSize: Int
    public var headDim: Int
    public var numHeads: [Int]               // per layer
    public var numKVHeads: [Int]             // per layer
    public var intermediateSizes: [Int]      // per layer
    public var rmsNormEps: Float
    public var ropeTheta: Float
    public var ropeScaling: RopeScaling?
    public var tieWordEmbeddings: Bool
    public var attentionBias: Bool           // q/k/v biases (Qwen2)
    public var maxPositionEmbeddings: Int
    public var bosTokenID: Int?
    public var eosTokenID: Int?

    public var numLayers: Int { numHeads.count }

    public init(architecture: String, vocabSize: Int, hiddenSize: Int, headDim: Int,
                numHeads: [Int], numKVHeads: [Int], intermediateSizes: [Int], rmsNormEps: Float,
                ropeTheta: Float, ropeScaling: RopeScaling? = nil, tieWordEmbeddings: Bool,
                attentionBias: Bool = false, maxPositionEmbeddings: Int = 2048,
                bosTokenID: Int? = nil, eosTokenID: Int? = nil) {
        self.architecture = architecture; self.vocabSize = vocabSize; self.hiddenSize = hiddenSize
        self.headDim = headDim; self.numHeads = numHeads; self.numKVHeads = numKVHeads
        self.intermediateSizes = intermediateSizes; self.rmsNormEps = rmsNormEps
        self.ropeTheta = ropeTheta; self.ropeScaling = ropeScaling
        self.tieWordEmbeddings = tieWordEmbeddings; self.attentionBias = attentionBias
        self.maxPositionEmbeddings = maxPositionEmbeddings
        self.bosTokenID = bosTokenID; self.eosTokenID = eosTokenID
    }
}

/// Named float32 tensors in Hugging Face naming and shapes
/// (`model.layers.3.self_attn.q_proj.weight`, [out, in]) whatever holds them.
public protocol TensorSource {
    /// HF shape of a tensor, or nil if absent.
    func shape(of name: String) -> [Int]?
    /// Decodes (dequantizes, converts) one tensor to float32, row-major in HF shape.
    func loadFloat32(_ name: String) throws -> [Float]
}

/// A Llama-family checkpoint file or directory: its tensors and the config they follow.
public protocol CheckpointSource: AnyObject, TensorSource {
    var config: ModelConfig { get }
    var tensorNames: [String] { get }
}

/// Why a tensor could not be used to build a model.
public enum TensorSourceError: Error, CustomStringConvertible {
    case missingTensor(String)
    case shapeMismatch(name: String, expected: [Int], found: [Int])
    case nonFiniteWeights(String)

    public var description: String {
        switch self {
        case .missingTensor(let n): return "checkpoint has no tensor '\(n)'"
        case .shapeMismatch(let n, let e, let f): return "tensor '\(n)' has shape \(f), but the config implies \(e)"
        case .nonFiniteWeights(let n): return "tensor '\(n)' contains NaN or infinite values"
        }
    }
}

extension TensorSource {
    /// Tensor `name`, which must exist with exactly `shape` and hold only finite values.
    public func loadChecked(_ name: String, _ shape: [Int]) throws -> [Float] {
        guard let found = self.shape(of: name) else { throw TensorSourceError.missingTensor(name) }
        guard found == shape else { throw TensorSourceError.shapeMismatch(name: name, expected: shape, found: found) }
        let values = try loadFloat32(name)
        guard values.count == shape.reduce(1, *) else {
            throw TensorSourceError.shapeMismatch(name: name, expected: shape, found: [values.count])
        }
        guard allFinite(values) else { throw TensorSourceError.nonFiniteWeights(name) }
        return values
    }
}

/// Whether every value is finite (no NaN, no ±Inf). One cheap pass: the exponent field of
/// each float is all ones exactly for NaN/Inf, and adding one to it then carries into the
/// top bit; an OR-reduction over integers (which vectorizes) collects that bit.
public func allFinite(_ values: [Float]) -> Bool {
    values.withUnsafeBufferPointer { b in
        b.withMemoryRebound(to: UInt32.self) { u in
            var acc: UInt32 = 0
            for x in u { acc |= (x & 0x7F80_0000) &+ 0x0080_0000 }
            return acc & 0x8000_0000 == 0
        }
    }
}

/// Tensors held in memory by name (a model being rebuilt, e.g. after structured pruning).
public struct InMemoryTensors: TensorSource {
    public var tensors: [String: (shape: [Int], values: [Float])]
    public init(_ tensors: [String: (shape: [Int], values: [Float])] = [:]) { self.tensors = tensors }
    public func shape(of name: String) -> [Int]? { tensors[name]?.shape }
    public func loadFloat32(_ name: String) throws -> [Float] {
        guard let t = tensors[name] else { throw TensorSourceError.missingTensor(name) }
        return t.values
    }
}
