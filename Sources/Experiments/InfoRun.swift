import LLM
import ModelIO

/// Settings of `info` (it has none of its own; the record still says how it ran).
public struct InfoSettings: Codable, Sendable, Equatable {
    public var threads: Int?
    public init(threads: Int? = nil) { self.threads = threads }
    enum CodingKeys: String, CodingKey { case threads }
}

/// Architecture, sizes and tokenizer of a model, as `info` shows them.
public struct ModelDescription: Codable, Sendable, Equatable {
    public var format: String
    public var architecture: String
    public var layers: Int
    public var hiddenSize: Int
    /// Per layer (structured pruning makes them differ).
    public var heads: [Int]
    public var kvHeads: [Int]
    public var headDim: Int
    public var intermediateSizes: [Int]
    public var vocabSize: Int
    public var tiedEmbeddings: Bool
    public var ropeTheta: Float
    public var params: Int
    public var weightsBytesF32: Int
    /// Where the tokenizer came from: "tokenizer.json" or "from GGUF metadata".
    public var tokenizer: String
    public var bosTokenID: Int?
    public var eosTokenID: Int?
    public var loadSeconds: Double

    public init(_ l: LoadedModel) {
        let c = l.model.config
        format = l.format; architecture = c.architecture; layers = l.model.layers.count
        hiddenSize = l.model.hiddenSize; heads = l.model.layers.map(\.heads); kvHeads = l.model.layers.map(\.kvHeads)
        headDim = c.headDim; intermediateSizes = l.model.layers.map(\.intermediateSize)
        vocabSize = l.model.vocabSize; tiedEmbeddings = l.model.lmHead == nil; ropeTheta = c.ropeTheta
        params = l.model.parameterCount; weightsBytesF32 = params * 4
        tokenizer = l.format == "gguf" ? "from GGUF metadata" : "tokenizer.json"
        bosTokenID = l.tokenizer.bosTokenID.map(Int.init); eosTokenID = l.tokenizer.eosTokenID.map(Int.init)
        loadSeconds = l.loadSeconds
    }

    enum CodingKeys: String, CodingKey {
        case format, architecture, layers, hiddenSize = "hidden_size", heads, kvHeads = "kv_heads", headDim = "head_dim"
        case intermediateSizes = "intermediate_sizes", vocabSize = "vocab_size", tiedEmbeddings = "tied_embeddings"
        case ropeTheta = "rope_theta", params, weightsBytesF32 = "weights_bytes_f32", tokenizer
        case bosTokenID = "bos_token_id", eosTokenID = "eos_token_id", loadSeconds = "load_seconds"
    }
}

/// `secateur info`: load a model and describe it.
public struct InfoRun {
    public var settings: InfoSettings

    public init(settings: InfoSettings = InfoSettings()) { self.settings = settings }

    public func run(modelSpec: String) throws -> RunRecord {
        var context = RunContext(threads: settings.threads)
        return try withEngineThreads(context.threads) {
            let (loaded, identity) = try context.load(modelSpec)
            return context.record(model: identity, settings: .info(InfoSettings(threads: context.threads)),
                                  result: .info(ModelDescription(loaded)))
        }
    }

    public func run(model loaded: LoadedModel) throws -> RunRecord {
        var context = RunContext(threads: settings.threads)
        let identity = try context.identify(loaded)
        return context.record(model: identity, settings: .info(InfoSettings(threads: context.threads)),
                              result: .info(ModelDescription(loaded)))
    }
}
