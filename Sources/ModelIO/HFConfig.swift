import Foundation

/// Errors from reading or writing a Hugging Face `config.json`.
public enum HFConfigError: Error, CustomStringConvertible, Equatable {
    case unreadable(path: String, reason: String)
    case invalidJSON(source: String, reason: String)
    case unsupportedArchitecture(source: String, name: String, supported: [String])
    case missingKey(source: String, key: String)
    case invalidValue(source: String, key: String, reason: String)
    case unsupportedRopeScaling(source: String, type: String, supported: [String])
    case unsupportedFeature(source: String, feature: String)

    public var description: String {
        switch self {
        case let .unreadable(path, reason):
            return "cannot read \(path): \(reason)"
        case let .invalidJSON(source, reason):
            return "\(source): not a valid config.json: \(reason)"
        case let .unsupportedArchitecture(source, name, supported):
            return "\(source): unsupported architecture '\(name)'; supported: \(supported.joined(separator: ", "))"
        case let .missingKey(source, key):
            return "\(source): missing required key '\(key)'"
        case let .invalidValue(source, key, reason):
            return "\(source): invalid value for '\(key)': \(reason)"
        case let .unsupportedRopeScaling(source, type, supported):
            return "\(source): unsupported RoPE scaling type '\(type)'; supported: \(supported.joined(separator: ", "))"
        case let .unsupportedFeature(source, feature):
            return "\(source): unsupported model feature: \(feature)"
        }
    }
}

/// Parsing of Hugging Face `config.json` (Llama, Mistral, Qwen2 decoders) into
/// `ModelConfig`, and the inverse for saving pruned models.
///
/// Per-layer widths left by structured pruning are stored as the extension keys
/// `secateur_num_heads`, `secateur_num_kv_heads`, `secateur_intermediate_sizes`
/// (arrays of length `num_hidden_layers`), which override the uniform values.
public enum HFConfig {
    /// HF class name → `ModelConfig.architecture` (= HF `model_type`).
    public static let supportedArchitectures: [(hfClass: String, modelType: String)] = [
        ("LlamaForCausalLM", "llama"),
        ("MistralForCausalLM", "mistral"),
        ("Qwen2ForCausalLM", "qwen2"),
    ]
    public static let supportedRopeTypes = ["default", "linear", "llama3"]

    /// Reads and parses `path` (a config.json file).
    public static func load(path: String) throws -> ModelConfig {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw HFConfigError.unreadable(path: path, reason: (error as NSError).localizedDescription)
        }
        return try parse(data, source: path)
    }

    /// Parses config.json bytes; `source` names the file in error messages.
    public static func parse(_ data: Data, source: String = "config.json") throws -> ModelConfig {
        let object: Any
        do {
            object = try JSONSerialization.jsonObject(with: data, options: [])
        } catch {
            throw HFConfigError.invalidJSON(source: source, reason: (error as NSError).localizedDescription.replacingOccurrences(of: "\n", with: " "))
        }
        guard let dict = object as? [String: Any] else {
            throw HFConfigError.invalidJSON(source: source, reason: "top level is not an object")
        }
        return try parse(dict, source: source)
    }

    /// Parses an already-decoded config.json object.
    public static func parse(_ json: [String: Any], source: String = "config.json") throws -> ModelConfig {
        let r = Reader(json: json, source: source)
        let supportedNames = supportedArchitectures.map(\.hfClass)

        // Architecture: the `architectures` list if present, else `model_type`.
        let arch: String
        if let list = json["architectures"], !(list is NSNull) {
            guard let names = list as? [Any], let first = names.first as? String else {
                throw HFConfigError.invalidValue(source: source, key: "architectures", reason: "expected a list of class names")
            }
            guard let match = supportedArchitectures.first(where: { $0.hfClass == first }) else {
                throw HFConfigError.unsupportedArchitecture(source: source, name: first, supported: supportedNames)
            }
            arch = match.modelType
        } else if let modelType = json["model_type"] as? String {
            guard let match = supportedArchitectures.first(where: { $0.modelType == modelType }) else {
                throw HFConfigError.unsupportedArchitecture(source: source, name: modelType, supported: supportedNames)
            }
            arch = match.modelType
        } else {
            throw HFConfigError.missingKey(source: source, key: "architectures")
        }

        if let act = json["hidden_act"] as? String, act != "silu" {
            throw HFConfigError.unsupportedFeature(source: source, feature: "hidden_act '\(act)' (only silu)")
        }
        if arch == "llama", try r.bool("mlp_bias") == true {
            throw HFConfigError.unsupportedFeature(source: source, feature: "mlp_bias = true")
        }

        let hidden = try r.requiredInt("hidden_size")
        let layers = try r.requiredInt("num_hidden_layers")
        let heads = try r.requiredInt("num_attention_heads")
        let intermediate = try r.requiredInt("intermediate_size")
        let vocab = try r.requiredInt("vocab_size")
        let kvHeads = try r.int("num_key_value_heads") ?? heads
        for (key, v) in [("hidden_size", hidden), ("num_hidden_layers", layers), ("num_attention_heads", heads),
                         ("intermediate_size", intermediate), ("vocab_size", vocab), ("num_key_value_heads", kvHeads)] {
            if let why = ModelSizeLimits.problem(v, isLayerCount: key == "num_hidden_layers") {
                throw HFConfigError.invalidValue(source: source, key: key, reason: why)
            }
        }
        let headDim: Int
        if let hd = try r.int("head_dim") {
            guard hd > 0, hd % 2 == 0, hd <= ModelSizeLimits.width else {
                throw HFConfigError.invalidValue(source: source, key: "head_dim", reason: "must be positive and even, got \(hd)")
            }
            headDim = hd
        } else {
            guard hidden % heads == 0, (hidden / heads) % 2 == 0 else {
                throw HFConfigError.invalidValue(source: source, key: "num_attention_heads",
                                                 reason: "hidden_size \(hidden) is not a multiple of \(heads) heads of even size; set head_dim")
            }
            headDim = hidden / heads
        }
        guard heads % kvHeads == 0 else {
            throw HFConfigError.invalidValue(source: source, key: "num_key_value_heads",
                                             reason: "\(heads) attention heads are not a multiple of \(kvHeads) key/value heads")
        }

        // Per-layer overrides written by our pruner.
        let headsPerLayer = try r.intArray("secateur_num_heads", count: layers) ?? Array(repeating: heads, count: layers)
        let kvPerLayer = try r.intArray("secateur_num_kv_heads", count: layers) ?? Array(repeating: kvHeads, count: layers)
        let interPerLayer = try r.intArray("secateur_intermediate_sizes", count: layers) ?? Array(repeating: intermediate, count: layers)
        for l in 0..<layers {
            let h = headsPerLayer[l], kv = kvPerLayer[l]
            guard h >= 0, kv >= 0, interPerLayer[l] >= 0 else {
                throw HFConfigError.invalidValue(source: source, key: "secateur_*", reason: "layer \(l) has a negative width")
            }
            guard h <= ModelSizeLimits.width, interPerLayer[l] <= ModelSizeLimits.width else {
                throw HFConfigError.invalidValue(source: source, key: "secateur_*", reason: "layer \(l) has a width beyond any real checkpoint's")
            }
            guard (kv == 0 && h == 0) || (kv > 0 && h % kv == 0) else {
                throw HFConfigError.invalidValue(source: source, key: "secateur_num_heads",
                                                 reason: "layer \(l): \(h) heads are not a multiple of \(kv) key/value heads")
            }
        }

        // RoPE: transformers 5 writes `rope_parameters` (with rope_theta inside); older
        // configs have top-level `rope_theta` and `rope_scaling` (`type` or `rope_type`).
        var ropeParams: [String: Any] = [:]
        if let p = json["rope_parameters"] as? [String: Any] {
            ropeParams = (p["full_attention"] as? [String: Any]) ?? p
        }
        var scaling: [String: Any] = [:]
        if let s = json["rope_scaling"] as? [String: Any] { scaling = s }
        for (k, v) in ropeParams { scaling[k] = v }
        let sr = Reader(json: scaling, source: source, prefix: json["rope_parameters"] != nil ? "rope_parameters." : "rope_scaling.")
        let theta = try sr.double("rope_theta") ?? r.double("rope_theta") ?? 10000
        guard theta > 0 else { throw HFConfigError.invalidValue(source: source, key: "rope_theta", reason: "must be positive, got \(theta)") }
        let ropeType = (scaling["rope_type"] as? String) ?? (scaling["type"] as? String) ?? "default"
        var ropeScaling: RopeScaling? = nil
        switch ropeType {
        case "default":
            break
        case "linear":
            let factor = try sr.double("factor") ?? { throw HFConfigError.missingKey(source: source, key: sr.prefix + "factor") }()
            ropeScaling = RopeScaling(type: "linear", factor: Float(factor))
        case "llama3":
            let factor = try sr.double("factor") ?? { throw HFConfigError.missingKey(source: source, key: sr.prefix + "factor") }()
            let low = try sr.double("low_freq_factor") ?? 1
            let high = try sr.double("high_freq_factor") ?? 4
            let original = try sr.int("original_max_position_embeddings") ?? r.int("original_max_position_embeddings") ?? 8192
            guard factor > 0, low > 0, high > low, original > 0 else {
                throw HFConfigError.invalidValue(source: source, key: sr.prefix + "*",
                                                 reason: "llama3 scaling needs factor > 0, 0 < low_freq_factor < high_freq_factor, original_max_position_embeddings > 0")
            }
            ropeScaling = RopeScaling(type: "llama3", factor: Float(factor), lowFreqFactor: Float(low),
                                      highFreqFactor: Float(high), originalMaxPositionEmbeddings: original)
        default:
            throw HFConfigError.unsupportedRopeScaling(source: source, type: ropeType, supported: supportedRopeTypes)
        }

        let eps = try r.double("rms_norm_eps") ?? 1e-6
        let defaultMaxPos = ["llama": 2048, "mistral": 131072, "qwen2": 32768][arch]!
        let attentionBias: Bool
        switch arch {
        case "qwen2": attentionBias = true
        case "llama": attentionBias = try r.bool("attention_bias") ?? false
        default: attentionBias = false
        }
        return ModelConfig(
            architecture: arch, vocabSize: vocab, hiddenSize: hidden, headDim: headDim,
            numHeads: headsPerLayer, numKVHeads: kvPerLayer, intermediateSizes: interPerLayer,
            rmsNormEps: Float(eps), ropeTheta: Float(theta), ropeScaling: ropeScaling,
            tieWordEmbeddings: try r.bool("tie_word_embeddings") ?? false,
            attentionBias: attentionBias,
            maxPositionEmbeddings: try r.int("max_position_embeddings") ?? defaultMaxPos,
            bosTokenID: try r.firstInt("bos_token_id"), eosTokenID: try r.firstInt("eos_token_id"))
    }

    /// The HF class name for a `ModelConfig.architecture`.
    public static func hfClassName(for architecture: String) -> String? {
        supportedArchitectures.first(where: { $0.modelType == architecture })?.hfClass
    }

    /// config.json bytes for `config` (indented, sorted keys; floats keep a decimal point,
    /// e.g. `"factor": 8.0`, as transformers' validation expects).
    public static func encode(_ config: ModelConfig) throws -> Data {
        encode(json: hfConfigJSON(config))
    }

    /// config.json bytes for any config object (indented, sorted keys).
    public static func encode(json: [String: Any]) -> Data {
        var out = ""
        writeJSON(json, indent: 0, into: &out)
        return Data((out + "\n").utf8)
    }

    /// Writes config.json for `config` to `path` atomically.
    public static func write(_ config: ModelConfig, to path: String) throws {
        try writeFileAtomically(try encode(config), to: path)
    }
}

/// The config.json object for `config`: standard HF keys (legacy `rope_theta` /
/// `rope_scaling` form, which both transformers 4 and 5 read) plus the `secateur_*`
/// per-layer arrays when layers differ. With per-layer widths, the uniform keys hold the
/// largest width.
public func hfConfigJSON(_ config: ModelConfig) -> [String: Any] {
    func number(_ f: Float) -> Double { Double("\(f)") ?? Double(f) }  // 1e-06, not 9.99999997e-07
    var j: [String: Any] = [:]
    j["architectures"] = [HFConfig.hfClassName(for: config.architecture) ?? config.architecture]
    j["model_type"] = config.architecture
    j["hidden_act"] = "silu"
    j["hidden_size"] = config.hiddenSize
    j["head_dim"] = config.headDim
    j["num_hidden_layers"] = config.numLayers
    j["num_attention_heads"] = config.numHeads.max() ?? 0
    j["num_key_value_heads"] = config.numKVHeads.max() ?? 0
    j["intermediate_size"] = config.intermediateSizes.max() ?? 0
    j["vocab_size"] = config.vocabSize
    j["max_position_embeddings"] = config.maxPositionEmbeddings
    j["rms_norm_eps"] = number(config.rmsNormEps)
    j["rope_theta"] = number(config.ropeTheta)
    j["tie_word_embeddings"] = config.tieWordEmbeddings
    j["bos_token_id"] = config.bosTokenID.map { $0 as Any } ?? NSNull()
    j["eos_token_id"] = config.eosTokenID.map { $0 as Any } ?? NSNull()
    j["torch_dtype"] = "float32"
    switch config.architecture {
    case "llama":
        j["attention_bias"] = config.attentionBias
        j["mlp_bias"] = false
    case "mistral":
        j["sliding_window"] = NSNull()   // the engine attends over the full context
    case "qwen2":
        j["use_sliding_window"] = false
    default:
        break
    }
    if let s = config.ropeScaling {
        var rs: [String: Any] = ["rope_type": s.type, "factor": number(s.factor)]
        if s.type == "llama3" {
            rs["low_freq_factor"] = number(s.lowFreqFactor)
            rs["high_freq_factor"] = number(s.highFreqFactor)
            rs["original_max_position_embeddings"] = s.originalMaxPositionEmbeddings
        }
        j["rope_scaling"] = rs
    }
    let uniform = Set(config.numHeads).count <= 1 && Set(config.numKVHeads).count <= 1 && Set(config.intermediateSizes).count <= 1
    if !uniform {
        j["secateur_num_heads"] = config.numHeads
        j["secateur_num_kv_heads"] = config.numKVHeads
        j["secateur_intermediate_sizes"] = config.intermediateSizes
    }
    return j
}

/// Minimal JSON writer for the values `hfConfigJSON` produces (String, Int, Double, Bool,
/// NSNull, arrays, string-keyed dictionaries).
private func writeJSON(_ value: Any, indent: Int, into out: inout String) {
    let pad = String(repeating: "  ", count: indent + 1), end = String(repeating: "  ", count: indent)
    switch value {
    case let d as [String: Any]:
        if d.isEmpty { out += "{}"; return }
        out += "{\n"
        for (i, key) in d.keys.sorted().enumerated() {
            out += pad + jsonString(key) + ": "
            writeJSON(d[key]!, indent: indent + 1, into: &out)
            out += i + 1 < d.count ? ",\n" : "\n"
        }
        out += end + "}"
    case let a as [Int]:
        out += "[" + a.map(String.init).joined(separator: ", ") + "]"
    case let a as [Any]:
        out += "["
        for (i, v) in a.enumerated() {
            if i > 0 { out += ", " }
            writeJSON(v, indent: indent, into: &out)
        }
        out += "]"
    case let s as String: out += jsonString(s)
    case let b as Bool: out += b ? "true" : "false"
    case let i as Int: out += String(i)
    case let d as Double: out += d.isFinite ? "\(d)" : "null"
    case let f as Float: out += f.isFinite ? "\(f)" : "null"
    default: out += "null"
    }
}

// MARK: - Typed access to JSONSerialization output

private struct Reader {
    let json: [String: Any]
    let source: String
    var prefix: String = ""

    private func present(_ key: String) -> Any? {
        guard let v = json[key], !(v is NSNull) else { return nil }
        return v
    }

    private func invalid(_ key: String, _ expected: String, _ v: Any) -> HFConfigError {
        .invalidValue(source: source, key: prefix + key, reason: "expected \(expected), got \(v)")
    }

    /// JSON true/false (Foundation bridges them as a CFBoolean NSNumber on every platform).
    private func isBoolean(_ v: Any) -> Bool {
        v is Bool && String(describing: type(of: v)).contains("Boolean") || type(of: v) == Bool.self
    }

    private func asInt(_ v: Any) -> Int? {
        if isBoolean(v) { return nil }
        return v as? Int   // exact: 2.5 does not convert, 4.0 does
    }

    func int(_ key: String) throws -> Int? {
        guard let v = present(key) else { return nil }
        guard let i = asInt(v) else { throw invalid(key, "an integer", v) }
        return i
    }

    func requiredInt(_ key: String) throws -> Int {
        guard let i = try int(key) else { throw HFConfigError.missingKey(source: source, key: prefix + key) }
        return i
    }

    func double(_ key: String) throws -> Double? {
        guard let v = present(key) else { return nil }
        if isBoolean(v) { throw invalid(key, "a number", v) }
        if let d = v as? Double { return d }
        throw invalid(key, "a number", v)
    }

    func bool(_ key: String) throws -> Bool? {
        guard let v = present(key) else { return nil }
        if isBoolean(v), let b = v as? Bool { return b }
        throw invalid(key, "true or false", v)
    }

    /// An integer, or the first element of a list of integers (`eos_token_id: [1, 2]`).
    func firstInt(_ key: String) throws -> Int? {
        guard let v = present(key) else { return nil }
        if let list = v as? [Any] {
            guard let first = list.first else { return nil }
            guard let i = asInt(first) else { throw invalid(key, "integers", v) }
            return i
        }
        guard let i = asInt(v) else { throw invalid(key, "an integer or list of integers", v) }
        return i
    }

    func intArray(_ key: String, count: Int) throws -> [Int]? {
        guard let v = present(key) else { return nil }
        guard let list = v as? [Any] else { throw invalid(key, "a list of \(count) integers", v) }
        let ints = list.compactMap(asInt)
        guard ints.count == list.count, ints.count == count else { throw invalid(key, "a list of \(count) integers", v) }
        return ints
    }
}
