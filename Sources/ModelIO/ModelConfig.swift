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

/// Named float32 tensors of a checkpoint, in Hugging Face naming and shapes
/// (`model.layers.3.self_attn.q_proj.weight`, [out, in]) whatever the file format.
public protocol CheckpointSource: AnyObject {
    var config: ModelConfig { get }
    var tensorNames: [String] { get }
    /// HF shape of a tensor, or nil if absent.
    func shape(of name: String) -> [Int]?
    /// Decodes (dequantizes, converts) one tensor to float32, row-major in HF shape.
    func loadFloat32(_ name: String) throws -> [Float]
}
