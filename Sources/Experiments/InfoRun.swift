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
    /// nil for learned positions (OPT).
    public var ropeTheta: Float?
    public var params: Int
    public var weightsBytesF32: Int
    /// Where the tokenizer came from (`LoadedModel.tokenizerSource`).
    public var tokenizer: String
    public var bosTokenID: Int?
    public var eosTokenID: Int?
    public var loadSeconds: Double

    public init(_ l: LoadedModel) {
        let m = l.model, shapes = m.blockShapes
        format = l.format; architecture = m.architecture; layers = m.layerCount
        hiddenSize = m.hiddenSize; heads = shapes.map(\.heads); kvHeads = shapes.map(\.kvHeads)
        headDim = shapes.first?.headDim ?? 0; intermediateSizes = shapes.map(\.intermediateSize)
        vocabSize = m.vocabSize; tiedEmbeddings = !m.parameters.contains { $0.role == .head }
        ropeTheta = (m.huggingFaceConfig()["rope_theta"] as? Double).map { Float($0) }
        params = l.model.parameterCount; weightsBytesF32 = params * 4
        tokenizer = l.tokenizerSource
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
