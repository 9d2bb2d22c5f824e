import Foundation
import ModelIO

/// An OPT model's config.json (transformers' `OPTConfig`, Zhang et al. 2022). The keys are
/// transformers' own; `secateur_num_heads` / `secateur_ffn_dims` hold per-layer widths left by
/// structured pruning (the uniform keys then hold the widest layer).
public struct OPTConfig: Codable, Equatable, Sendable {
    public var vocabSize: Int
    public var hiddenSize: Int
    public var numHiddenLayers: Int
    public var numAttentionHeads: Int
    public var ffnDim: Int
    public var maxPositionEmbeddings: Int
    /// Pre-LN (every OPT but 350m) or post-LN (350m).
    public var doLayerNormBefore: Bool
    /// Width of the token embedding and head; ≠ hiddenSize means project_in / project_out exist.
    public var wordEmbedProjDim: Int
    public var enableBias: Bool
    public var layerNormElementwiseAffine: Bool
    public var activationFunction: String
    /// True only for checkpoints converted without the final LayerNorm (transformers' flag).
    public var removeFinalLayerNorm: Bool
    public var tieWordEmbeddings: Bool
    public var bosTokenID: Int?
    public var eosTokenID: Int?
    public var padTokenID: Int?
    /// Head size: fixed by the unpruned layout (hidden / heads), kept when heads are removed.
    public var headDim: Int
    public var secateurNumHeads: [Int]?
    public var secateurFFNDims: [Int]?

    enum CodingKeys: String, CodingKey {
        case vocabSize = "vocab_size", hiddenSize = "hidden_size", numHiddenLayers = "num_hidden_layers"
        case numAttentionHeads = "num_attention_heads", ffnDim = "ffn_dim"
        case maxPositionEmbeddings = "max_position_embeddings", doLayerNormBefore = "do_layer_norm_before"
        case wordEmbedProjDim = "word_embed_proj_dim", enableBias = "enable_bias"
        case layerNormElementwiseAffine = "layer_norm_elementwise_affine"
        case activationFunction = "activation_function", removeFinalLayerNorm = "_remove_final_layer_norm"
        case tieWordEmbeddings = "tie_word_embeddings", bosTokenID = "bos_token_id", eosTokenID = "eos_token_id"
        case padTokenID = "pad_token_id", headDim = "secateur_head_dim", secateurNumHeads = "secateur_num_heads", secateurFFNDims = "secateur_ffn_dims"
    }

    /// transformers' defaults for keys a config.json may leave out.
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        vocabSize = try c.decode(Int.self, forKey: .vocabSize)
        hiddenSize = try c.decode(Int.self, forKey: .hiddenSize)
        numHiddenLayers = try c.decode(Int.self, forKey: .numHiddenLayers)
        numAttentionHeads = try c.decode(Int.self, forKey: .numAttentionHeads)
        ffnDim = try c.decode(Int.self, forKey: .ffnDim)
        maxPositionEmbeddings = try c.decodeIfPresent(Int.self, forKey: .maxPositionEmbeddings) ?? 2048
        doLayerNormBefore = try c.decodeIfPresent(Bool.self, forKey: .doLayerNormBefore) ?? true
        wordEmbedProjDim = try c.decodeIfPresent(Int.self, forKey: .wordEmbedProjDim) ?? hiddenSize
        enableBias = try c.decodeIfPresent(Bool.self, forKey: .enableBias) ?? true
        layerNormElementwiseAffine = try c.decodeIfPresent(Bool.self, forKey: .layerNormElementwiseAffine) ?? true
        activationFunction = try c.decodeIfPresent(String.self, forKey: .activationFunction) ?? "relu"
        removeFinalLayerNorm = try c.decodeIfPresent(Bool.self, forKey: .removeFinalLayerNorm) ?? false
        tieWordEmbeddings = try c.decodeIfPresent(Bool.self, forKey: .tieWordEmbeddings) ?? true
        bosTokenID = try c.decodeIfPresent(Int.self, forKey: .bosTokenID)
        eosTokenID = try c.decodeIfPresent(Int.self, forKey: .eosTokenID)
        padTokenID = try c.decodeIfPresent(Int.self, forKey: .padTokenID)
        headDim = try c.decodeIfPresent(Int.self, forKey: .headDim) ?? 0
        secateurNumHeads = try c.decodeIfPresent([Int].self, forKey: .secateurNumHeads)
        secateurFFNDims = try c.decodeIfPresent([Int].self, forKey: .secateurFFNDims)
    }

    /// Attention heads of every layer.
    public var heads: [Int] { secateurNumHeads ?? Array(repeating: numAttentionHeads, count: numHiddenLayers) }
    /// MLP width of every layer.
    public var ffnDims: [Int] { secateurFFNDims ?? Array(repeating: ffnDim, count: numHiddenLayers) }

    /// Whether a config.json object describes an OPT model.
    /// Whether a directory's config.json describes an OPT model.
    public static func describes(directory: String) -> Bool {
        let path = (directory as NSString).appendingPathComponent(HFCheckpoint.configFileName)
        guard let data = FileManager.default.contents(atPath: path),
              let json = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else { return false }
        return describes(json)
    }

    public static func describes(_ json: [String: Any]) -> Bool {
        (json["architectures"] as? [String])?.first == "OPTForCausalLM" || json["model_type"] as? String == "opt"
    }

    /// Reads and checks config.json at `path`.
    public static func load(path: String) throws -> OPTConfig {
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw HFConfigError.unreadable(path: path, reason: (error as NSError).localizedDescription)
        }
        var c: OPTConfig
        do { c = try JSONDecoder().decode(OPTConfig.self, from: data) } catch let e as DecodingError {
            throw HFConfigError.invalidJSON(source: path, reason: Self.describe(e))
        }
        try c.validate(source: path)
        return c
    }

    mutating func validate(source: String) throws {
        func bad(_ key: String, _ why: String) -> HFConfigError { .invalidValue(source: source, key: key, reason: why) }
        for (k, v) in [("vocab_size", vocabSize), ("hidden_size", hiddenSize), ("num_hidden_layers", numHiddenLayers),
                       ("num_attention_heads", numAttentionHeads), ("ffn_dim", ffnDim),
                       ("max_position_embeddings", maxPositionEmbeddings), ("word_embed_proj_dim", wordEmbedProjDim)] {
            if let why = ModelSizeLimits.problem(v, isLayerCount: k == "num_hidden_layers") { throw bad(k, why) }
        }
        guard activationFunction == "relu" else {
            throw HFConfigError.unsupportedFeature(source: source, feature: "activation_function '\(activationFunction)' (only relu)")
        }
        guard hiddenSize % numAttentionHeads == 0 else {
            throw bad("num_attention_heads", "\(numAttentionHeads) heads do not divide hidden_size \(hiddenSize)")
        }
        for (k, a) in [("secateur_num_heads", secateurNumHeads), ("secateur_ffn_dims", secateurFFNDims)] {
            if let a, a.count != numHiddenLayers || a.contains(where: { $0 < 0 }) {
                throw bad(k, "expected \(numHiddenLayers) non-negative integers")
            }
        }
        if headDim <= 0 { headDim = hiddenSize / numAttentionHeads }
    }

    static func describe(_ e: DecodingError) -> String {
        switch e {
        case .keyNotFound(let k, _): return "missing required key '\(k.stringValue)'"
        case .typeMismatch(_, let c), .valueNotFound(_, let c), .dataCorrupted(let c):
            return (c.codingPath.map(\.stringValue).joined(separator: ".") + ": " + c.debugDescription)
        @unknown default: return "\(e)"
        }
    }
}
