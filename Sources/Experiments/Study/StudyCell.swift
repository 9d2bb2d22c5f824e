import Evaluation
import Foundation
import Pruning

/// How a cell prunes its model: not at all (the dense baseline), unstructured / N:M, or
/// structurally. The settings are the prune commands' own, so a cell and `secateur prune` with
/// the same values do the same thing.
public enum CellPruning: Sendable, Equatable {
    case dense
    case unstructured(PruneSettings)
    case structured(StructuredPruneSettings)

    /// What the table calls the method ("wanda", "taylor", "dense").
    public var method: String {
        switch self {
        case .dense: return "dense"
        case .unstructured(let s): return s.method.rawValue
        case .structured(let s): return s.mode == .layer ? "layer-\(s.layerScore.rawValue)" : s.criterion.rawValue
        }
    }

    /// The pattern or structure ("unstructured", "2:4", "block", "channel", "layer").
    public var structure: String {
        switch self {
        case .dense: return "-"
        case .unstructured(let s): return s.pattern.description
        case .structured(let s): return s.mode.rawValue
        }
    }

    /// The share requested: sparsity of the pruned matrices, or the structured ratio.
    public var requested: Double {
        switch self {
        case .dense: return 0
        case .unstructured(let s): return s.pattern.impliedSparsity ?? s.sparsity
        case .structured(let s): return s.ratio
        }
    }

    /// What `requested` is a share of: "matrices" (unstructured), "model" or "layer"
    /// (LLM-Pruner's per-layer meaning).
    public var ratioMeaning: String {
        switch self {
        case .dense: return "-"
        case .unstructured: return "matrices"
        case .structured(let s): return s.ratioMode.rawValue
        }
    }

    public var label: String {
        func pct(_ x: Double) -> String { String(format: "%g%%", (x * 1000).rounded() / 10) }
        switch self {
        case .dense: return "dense"
        case .unstructured(let s):
            if case .nOfM = s.pattern { return "\(s.method.rawValue) \(s.pattern)" }
            return "\(s.method.rawValue) \(pct(s.sparsity))"
        case .structured(let s):
            let lora = s.l0LoRARank.map { " + LoRA r\($0)" } ?? ""
            if let shape = s.l0Target { return "\(method)\(lora) to \(shape)" }
            return "\(method)\(lora) \(s.mode.rawValue) \(pct(s.ratio)) (\(s.ratioMode.rawValue))"
        }
    }
}

extension CellPruning: Codable {
    enum CodingKeys: String, CodingKey { case kind, settings }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        switch try c.decode(String.self, forKey: .kind) {
        case "dense": self = .dense
        case "unstructured": self = .unstructured(try c.decode(PruneSettings.self, forKey: .settings))
        case "structured": self = .structured(try c.decode(StructuredPruneSettings.self, forKey: .settings))
        case let k: throw DecodingError.dataCorruptedError(forKey: .kind, in: c, debugDescription: "unknown pruning kind '\(k)'")
        }
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        switch self {
        case .dense: try c.encode("dense", forKey: .kind)
        case .unstructured(let s): try c.encode("unstructured", forKey: .kind); try c.encode(s, forKey: .settings)
        case .structured(let s): try c.encode("structured", forKey: .kind); try c.encode(s, forKey: .settings)
        }
    }
}

/// What every cell of a study measures after pruning (and recovery).
public struct StudyEvaluation: Codable, Sendable, Equatable {
    /// Perplexity figures (dataset, protocol, window length, window count).
    public var perplexity: [PruneEvaluationSettings] = [PruneEvaluationSettings(dataset: .wikitext2, protocol: .wanda, seqlen: 2048, windows: 16)]
    /// Zero-shot tasks; empty: none.
    public var tasks: [ZeroShotTask] = []
    /// The first N documents of each task; nil: all.
    public var limit: Int?
    public var batchSize = 32
    /// Parameters, MACs, memory, prefill/decode speed; nil: not measured.
    public var efficiency: EfficiencyRunSettings?

    public init() {}

    enum CodingKeys: String, CodingKey, CaseIterable {
        case perplexity, tasks, limit, batchSize = "batch_size", efficiency
    }
}

/// One cell of a study grid, fully resolved: which model, how it is pruned, how it is recovered,
/// how it is evaluated. Its key (`key(modelSHA256:)`) identifies it in the results store.
public struct StudyCell: Codable, Sendable, Equatable {
    /// The study that asked for it (not part of the key: two studies that ask for the same cell share its row).
    public var study: String
    /// The model as written in the study (a path or an alias); the key uses the file's hash instead.
    public var model: String
    public var pruning: CellPruning
    /// nil: no recovery.
    public var recovery: RecoverSettings?
    public var evaluation: StudyEvaluation

    public init(study: String, model: String, pruning: CellPruning, recovery: RecoverSettings?, evaluation: StudyEvaluation) {
        self.study = study; self.model = model; self.pruning = pruning; self.recovery = recovery; self.evaluation = evaluation
    }

    /// "lora", "full", "lora+kd", or nil.
    public var recoveryLabel: String? {
        guard let r = recovery else { return nil }
        return r.method.rawValue + (r.teacher != nil ? "+kd" : "")
    }

    public var label: String {
        var l = pruning.label
        if let r = recoveryLabel { l += " + \(r)" }
        return l
    }

    /// SHA-256 of the resolved settings (pruning, recovery, evaluation, sorted-key JSON) and the
    /// model file's own SHA-256: the same work on the same weights has the same key wherever
    /// and whenever it is planned. A distillation teacher counts by its weights too: the cell's
    /// own model, or `teacherSHA256` (the planner hashes any other teacher).
    public func key(modelSHA256: String, teacherSHA256: String? = nil) throws -> String {
        struct Keyed: Encodable {
            var modelSHA256: String
            var pruning: CellPruning
            var recovery: RecoverSettings?
            var evaluation: StudyEvaluation
            enum CodingKeys: String, CodingKey { case modelSHA256 = "model_sha256", pruning, recovery, evaluation }
        }
        var recovery = self.recovery
        if recovery?.teacher == model { recovery?.teacher = "<model>" } else if let t = teacherSHA256, recovery?.teacher != nil { recovery?.teacher = "sha256:" + t }
        let enc = JSONEncoder()
        enc.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let data = try enc.encode(Keyed(modelSHA256: modelSHA256, pruning: pruning, recovery: recovery, evaluation: evaluation))
        var h = SHA256()
        h.update(data)
        return h.finalizeHex()
    }

    enum CodingKeys: String, CodingKey { case study, model, pruning, recovery, evaluation }
}
