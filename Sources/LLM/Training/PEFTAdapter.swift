import Foundation
import ModelIO

/// LoRA adapters in PEFT's on-disk format, so `PeftModel.from_pretrained(base, DIR)` loads
/// what Secateur trained (and Secateur loads what PEFT trained):
///   adapter_config.json        {"peft_type": "LORA", "r", "lora_alpha", "lora_dropout",
///                               "target_modules": ["q_proj", ...], "bias": "none", ...}
///   adapter_model.safetensors  "base_model.model.<module>.lora_A.weight" [r × in] and
///                              ".lora_B.weight" [out × r], float32; no adapter name in the key
///                              (PEFT strips "default" when saving).
public enum PEFTAdapter {
    public static let configFile = "adapter_config.json"
    public static let weightsFile = "adapter_model.safetensors"

    /// Writes the model's adapters (`adapterParameters`) and `c` to `directory`, each file
    /// atomically. `baseModel` is recorded as base_model_name_or_path.
    public static func save(_ model: LanguageModel, configuration c: LoRAConfiguration, baseModel: String,
                            to directory: String) throws {
        let out = URL(fileURLWithPath: directory)
        try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
        var w = SafetensorsWriter(metadata: ["format": "pt"])
        for t in model.adapterParameters {
            try w.add(LoRANames.peftPrefix + t.name, shape: t.shape, data: model.withAdapterParameter(t.name) { $0 })
        }
        try w.write(to: out.appendingPathComponent(weightsFile).path)
        let config: [String: Any] = [
            "peft_type": "LORA", "task_type": "CAUSAL_LM", "base_model_name_or_path": baseModel,
            "r": c.rank, "lora_alpha": Double(c.alpha), "lora_dropout": Double(c.dropout),
            "target_modules": targetModuleNames(model, c.targets), "bias": "none", "fan_in_fan_out": false,
            "inference_mode": true, "init_lora_weights": true, "use_rslora": false, "use_dora": false,
            "modules_to_save": NSNull(), "layers_to_transform": NSNull(), "layers_pattern": NSNull(),
            "rank_pattern": [String: Int](), "alpha_pattern": [String: Double](), "revision": NSNull(),
        ]
        let json = try JSONSerialization.data(withJSONObject: config, options: [.prettyPrinted, .sortedKeys])
        try writeFileAtomically(json, to: out.appendingPathComponent(configFile).path)
    }

    /// Reads a PEFT LoRA adapter directory and attaches its adapters to `model`; returns the
    /// configuration it describes. Refuses what it cannot represent exactly (rsLoRA, DoRA,
    /// per-module ranks, trained biases) rather than loading something else.
    @discardableResult
    public static func load(_ directory: String, onto model: LanguageModel) throws -> LoRAConfiguration {
        let dir = URL(fileURLWithPath: directory)
        let configURL = dir.appendingPathComponent(configFile)
        guard let data = FileManager.default.contents(atPath: configURL.path) else {
            throw PEFTAdapterError.missingFile(configURL.path)
        }
        guard let json = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
            throw PEFTAdapterError.malformedConfig(configURL.path, "not a JSON object")
        }
        guard (json["peft_type"] as? String)?.uppercased() == "LORA" else {
            throw PEFTAdapterError.malformedConfig(configURL.path, "peft_type is not LORA")
        }
        guard let r = json["r"] as? Int, let alpha = (json["lora_alpha"] as? NSNumber)?.floatValue else {
            throw PEFTAdapterError.malformedConfig(configURL.path, "r or lora_alpha missing")
        }
        for flag in ["use_rslora", "use_dora"] where json[flag] as? Bool == true {
            throw PEFTAdapterError.unsupported(configURL.path, flag)
        }
        for pattern in ["rank_pattern", "alpha_pattern"] {
            if let p = json[pattern] as? [String: Any], !p.isEmpty { throw PEFTAdapterError.unsupported(configURL.path, pattern) }
        }
        if let bias = json["bias"] as? String, bias != "none" { throw PEFTAdapterError.unsupported(configURL.path, "bias=\(bias)") }
        let names: [String]
        if let list = json["target_modules"] as? [String] { names = list }
        else if let one = json["target_modules"] as? String { names = [one] }
        else { throw PEFTAdapterError.malformedConfig(configURL.path, "target_modules missing") }
        let byName = Dictionary(model.projections.map { (moduleLeaf(model, $0), $0) }, uniquingKeysWith: { a, _ in a })
        let targets = try names.map { n -> Projection in
            guard let p = byName[n] else { throw PEFTAdapterError.unknownTarget(n, architecture: model.architecture) }
            return p
        }
        let c = LoRAConfiguration(rank: r, alpha: alpha, dropout: (json["lora_dropout"] as? NSNumber)?.floatValue ?? 0,
                                  targets: model.projections.filter(targets.contains))
        let file = try SafetensorsFile(path: dir.appendingPathComponent(weightsFile).path)
        try model.loadAdapters(c) { name in
            let key = LoRANames.peftPrefix + name
            guard let shape = file.shape(of: key) else { return nil }
            return (shape, try file.loadFloat32(key))
        }
        return c
    }

    /// PEFT's target_modules names: the last component of each projection's module path.
    static func targetModuleNames(_ model: LanguageModel, _ targets: [Projection]) -> [String] {
        model.projections.filter(targets.contains).map { moduleLeaf(model, $0) }
    }

    static func moduleLeaf(_ model: LanguageModel, _ p: Projection) -> String {
        String(model.moduleName(p, layer: 0).split(separator: ".").last ?? "")
    }
}

public enum PEFTAdapterError: Error, CustomStringConvertible, Equatable {
    case missingFile(String)
    case malformedConfig(String, String)
    case unsupported(String, String)
    case unknownTarget(String, architecture: String)

    public var description: String {
        switch self {
        case .missingFile(let p): return "no PEFT adapter config at \(p)"
        case .malformedConfig(let p, let why): return "\(p): \(why)"
        case .unsupported(let p, let what): return "\(p): \(what) is not supported (plain LoRA adapters only)"
        case .unknownTarget(let n, let a): return "target module '\(n)' is not a projection of the \(a) architecture"
        }
    }
}
