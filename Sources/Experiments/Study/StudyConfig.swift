import Compute
import Evaluation
import Foundation
import LLM
import Pruning

/// A study: models × pruning × recovery, evaluated the same way, read from YAML (DESIGN.md §10).
///
/// ```yaml
/// name: my-study
/// models: [smollm2-135m]          # paths or aliases
/// seeds: [0]                      # each seed is a replicate of every pruned cell
/// pruning:                        # each entry expands every list-valued key into a grid axis
///   - {method: wanda, sparsity: [0.5, 0.7]}
///   - {method: sparsegpt, pattern: ["2:4", "4:8"]}
///   - {method: [taylor, l2], ratio: [0.3], ratio_mode: [model, layer]}   # structured
/// recovery:                       # `none`, or recover settings (`teacher: dense` distils from the cell's model)
///   - none
///   - {method: lora, steps: 50, lr: 2e-4, data: c4, seqlen: 256, batch_size: 4}
/// evaluation:
///   perplexity: [{dataset: wikitext2, windows: 16}]
///   tasks: [boolq, piqa, hellaswag, winogrande, arc_easy]
///   limit: 200
///   efficiency: {prompt_length: 128, decode_tokens: 32}
/// slurm: {cpus_per_task: 2, mem: 8G, time: "01:00:00", max_concurrent: 4}
/// ```
///
/// Pruning and recovery keys are those of the prune and recover run records' settings
/// (`sparsity`, `pattern`, `nsamples`, `ratio_mode`, `attn_layers`, `lr`, `rank`, ...). A
/// pruning entry is structured when its method is taylor, l1 or l2, or `structured: true`
/// (random is unstructured unless told).
public struct StudyConfig: Sendable {
    public var name: String
    public var models: [String]
    public var seeds: [UInt64]
    /// Whether each model's dense baseline is a cell (default true).
    public var includeDense: Bool
    /// The pruning variants after expanding every axis (seed not yet applied), each with its
    /// own recovery list when its entry gave one (else the study's `recovery`).
    public var pruning: [(pruning: CellPruning, recovery: [RecoverSettings?]?)]
    /// nil entries: no recovery.
    public var recovery: [RecoverSettings?]
    public var evaluation: StudyEvaluation
    public var slurm: SlurmSettings

    /// The most cells a study may have. Each cell is a prune-and-evaluate run of minutes or more,
    /// so a larger grid is a mistake in the file (or a hostile one), and expanding it would only
    /// hang `secateur study` before it said anything. 1,000 cells also fit one Slurm job array at
    /// Slurm's default MaxArraySize (1001).
    public static let maxCells = 1_000

    /// How many cells the grid asks for before duplicates are dropped (saturating at Int.max).
    var requestedCellCount: Int {
        let perModel = pruning.reduce(includeDense ? 1 : 0) { n, p in
            let (r, o1) = (p.recovery ?? recovery).count.multipliedReportingOverflow(by: seeds.count)
            let (sum, o2) = n.addingReportingOverflow(r)
            return o1 || o2 ? Int.max : sum
        }
        let (total, overflow) = perModel.multipliedReportingOverflow(by: models.count)
        return overflow ? Int.max : total
    }

    /// The cells in a fixed order: per model, the dense baseline, then pruning × recovery × seed.
    public var cells: [StudyCell] {
        var out: [StudyCell] = []
        // Duplicates are looked up by the JSON of what varies between cells (model, pruning and
        // recovery; equal values encode alike), not by a scan of all cells so far, and each pruning
        // and recovery is encoded once per seed rather than once per cell: a grid of a thousand
        // cells stays linear and cheap.
        struct Bucket: Hashable { var model: String, pruning: Data, recovery: Data? }
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        func json<T: Encodable>(_ v: T) -> Data { (try? encoder.encode(v)) ?? Data() }
        var pruningJSON: [[Int: Data]] = Array(repeating: [:], count: pruning.count)
        var recoveryJSON: [String: Data] = [:]
        var buckets: [Bucket: [Int]] = [:]
        for model in models {
            if includeDense {
                out.append(StudyCell(study: name, model: model, pruning: .dense, recovery: nil, evaluation: evaluation))
                buckets[Bucket(model: model, pruning: json(CellPruning.dense), recovery: nil), default: []].append(out.count - 1)
            }
            for (pi, (p, own)) in pruning.enumerated() {
                for (ri, r) in (own ?? recovery).enumerated() {
                    for (si, seed) in seeds.enumerated() {
                        var pruning = p
                        switch pruning {
                        case .dense: break
                        case .unstructured(var s): s.seed = seed; pruning = .unstructured(s)
                        case .structured(var s): s.seed = seed; pruning = .structured(s)
                        }
                        if pruning == .dense && r != nil { continue }
                        var recovery = r
                        var recoveryKey = "\(pi).\(ri).\(si)"
                        if recovery != nil {
                            recovery!.seed = seed
                            if recovery!.teacher == StudyConfig.denseTeacher { recovery!.teacher = model; recoveryKey += "." + model }
                        }
                        let cell = StudyCell(study: name, model: model, pruning: pruning, recovery: recovery, evaluation: evaluation)
                        if pruningJSON[pi][si] == nil { pruningJSON[pi][si] = json(pruning) }
                        var recoveryData: Data?
                        if let recovery {
                            if recoveryJSON[recoveryKey] == nil { recoveryJSON[recoveryKey] = json(recovery) }
                            recoveryData = recoveryJSON[recoveryKey]
                        }
                        let bucket = Bucket(model: model, pruning: pruningJSON[pi][si]!, recovery: recoveryData)
                        if !(buckets[bucket] ?? []).contains(where: { out[$0] == cell }) {
                            buckets[bucket, default: []].append(out.count)
                            out.append(cell)
                        }
                    }
                }
            }
        }
        return out
    }

    /// Whether the grid has any cell (what `cells.isEmpty` says, without expanding it).
    var hasCells: Bool {
        guard !models.isEmpty else { return false }
        return includeDense || !seeds.isEmpty && pruning.contains { p, own in (own ?? recovery).contains { p != .dense || $0 == nil } }
    }

    /// The same study with a shorter (or longer) evaluation: every task scored on its first
    /// `taskLimit` documents, every perplexity on `windows` windows. The cells' keys change with
    /// them, so such a run never mixes with rows measured otherwise.
    public func overriding(taskLimit: Int?, windows: Int?) -> StudyConfig {
        var c = self
        if let taskLimit { c.evaluation.limit = taskLimit }
        if let windows { for i in c.evaluation.perplexity.indices { c.evaluation.perplexity[i].windows = windows } }
        return c
    }

    /// `teacher: dense` in a recovery entry: distil from the cell's own (unpruned) model.
    public static let denseTeacher = "dense"

    // MARK: - Reading

    public static func load(path: String) throws -> StudyConfig { try StudySource.file(path).config() }

    public static func parse(_ text: String, file: String) throws -> StudyConfig {
        let root = try ConfigValue.parse(text, file: file)
        let top = try Section(root, name: "the study", allowed: ["name", "models", "seeds", "dense", "pruning", "recovery", "evaluation", "slurm"])
        var config = StudyConfig(name: "study", models: [], seeds: [0], includeDense: true, pruning: [], recovery: [nil],
                                 evaluation: StudyEvaluation(), slurm: SlurmSettings())
        if let v = top["name"] {
            config.name = try v.string("name")
            guard !config.name.isEmpty, config.name.allSatisfy({ $0.isLetter || $0.isNumber || "._-".contains($0) }) else {
                throw StudyConfigError.invalid(v.at, "name: '\(config.name)' must be letters, digits, '.', '_' or '-' (it names directories and the Slurm job)")
            }
        }
        guard let models = top["models"] else { throw StudyConfigError.missingKey(root.at, key: "models", section: "the study") }
        config.models = try models.listOrOne("models").map { try $0.string("models") }
        var seen = Set<String>()
        if let dup = config.models.first(where: { !seen.insert($0).inserted }) {
            throw StudyConfigError.invalid(models.at, "models: '\(dup)' is listed twice")
        }
        if let v = top["seeds"] {
            config.seeds = try v.listOrOne("seeds").map { s in
                guard case .int(let i) = s.value, i >= 0 else { throw StudyConfigError.invalid(s.at, "seeds: expected non-negative integers") }
                return UInt64(i)
            }
        }
        if let v = top["dense"] { config.includeDense = try v.bool("dense") }
        if let v = top["pruning"] {
            config.pruning = try v.listOrOne("pruning").enumerated().reduce(into: []) { all, item in
                all += try PruningEntry.expand(item.element, section: "pruning[\(item.offset)]")
                try checkGridSize(all.count, at: item.element.at, axis: "pruning")
            }
            if config.pruning.contains(where: { $0.pruning == .dense }) {
                config.includeDense = true
                config.pruning.removeAll { $0.pruning == .dense }
            }
        }
        if let v = top["recovery"] {
            config.recovery = try v.listOrOne("recovery").enumerated().reduce(into: []) { all, item in
                all += try RecoveryEntry.expand(item.element, section: "recovery[\(item.offset)]")
                try checkGridSize(all.count, at: item.element.at, axis: "recovery")
            }
        }
        if let v = top["evaluation"] { config.evaluation = try EvaluationEntry.read(v) }
        if let v = top["slurm"] { config.slurm = try SlurmSettings.read(v) }
        if config.requestedCellCount > maxCells {
            let n = config.requestedCellCount == Int.max ? "too many" : "\(config.requestedCellCount)"
            throw StudyConfigError.invalid(root.at, "the study asks for \(n) cells (models × pruning × recovery × seeds), more than the \(maxCells) a study may have; split it into several studies")
        }
        if !config.hasCells {
            throw StudyConfigError.invalid(root.at, "the study has no cells: add pruning entries or keep the dense baseline")
        }
        return config
    }
}

/// Refuses an axis of the grid that alone has more entries than a study may have cells.
func checkGridSize(_ count: Int, at: ConfigLocation, axis: String) throws {
    guard count <= StudyConfig.maxCells else {
        throw StudyConfigError.invalid(at, "\(axis): more than \(StudyConfig.maxCells) entries, more cells than a study may have; split it into several studies")
    }
}

// MARK: - Sections

/// A mapping whose keys are checked against the ones its section allows.
struct Section {
    let value: ConfigValue.Located
    let name: String
    private let entries: [(key: String, keyAt: ConfigLocation, value: ConfigValue.Located)]

    init(_ v: ConfigValue.Located, name: String, allowed: [String]) throws {
        guard case .map(let m) = v.value else { throw StudyConfigError.invalid(v.at, "\(name): expected a mapping, found \(v.value.kind)") }
        for e in m where !allowed.contains(e.key) {
            throw StudyConfigError.unknownKey(e.keyAt, key: e.key, section: name, allowed: allowed)
        }
        value = v; self.name = name; entries = m
    }

    subscript(_ key: String) -> ConfigValue.Located? { entries.first { $0.key == key }?.value }
    var keys: [String] { entries.map(\.key) }
    func location(of key: String) -> ConfigLocation { entries.first { $0.key == key }?.keyAt ?? value.at }
    var all: [(key: String, keyAt: ConfigLocation, value: ConfigValue.Located)] { entries }
}

extension ConfigValue.Located {
    func string(_ key: String) throws -> String {
        switch value {
        case .string(let s): return s
        case .int(let i): return String(i)
        default: throw StudyConfigError.invalid(at, "\(key): expected text, found \(value.kind)")
        }
    }

    func bool(_ key: String) throws -> Bool {
        guard case .bool(let b) = value else { throw StudyConfigError.invalid(at, "\(key): expected true or false, found \(value.kind)") }
        return b
    }

    func int(_ key: String) throws -> Int {
        guard case .int(let i) = value else { throw StudyConfigError.invalid(at, "\(key): expected an integer, found \(value.kind)") }
        return i
    }

    /// A list's items, or the value itself as a one-item list. An empty list is an error: it
    /// would silently remove every cell of its axis.
    func listOrOne(_ key: String) throws -> [ConfigValue.Located] {
        if case .list(let l) = value {
            guard !l.isEmpty else { throw StudyConfigError.invalid(at, "\(key): an empty list leaves no cells; give at least one value") }
            return l
        }
        return [self]
    }
}

/// Decodes a settings type from the keys a study entry gave, on top of the type's defaults (the
/// synthesized decoders require every key; the defaults fill those the user left out).
func decodeSettings<T: Codable>(_ type: T.Type, defaults: T, overrides: [String: Any], at: (String) -> ConfigLocation,
                                section: String) throws -> T {
    do {
        let enc = JSONEncoder()
        var object = try JSONSerialization.jsonObject(with: enc.encode(defaults)) as? [String: Any] ?? [:]
        for (k, v) in overrides { object[k] = v }
        return try JSONDecoder().decode(T.self, from: JSONSerialization.data(withJSONObject: object))
    } catch let e as DecodingError {
        let (key, why) = describe(e)
        let allowed = key.flatMap { allowedValues[$0] }.map { "; one of: \($0.joined(separator: ", "))" } ?? ""
        let shown = key.flatMap { overrides[$0] }.map { " \(jsonText($0))" } ?? ""
        throw StudyConfigError.invalid(key.map(at) ?? at(""), "\(section): invalid value for '\(key ?? "?")'\(shown)\(allowed) (\(why))")
    } catch let e as StudyConfigError {
        throw e
    } catch {
        throw StudyConfigError.invalid(at(""), "\(section): \(error)")
    }
}

private func describe(_ e: DecodingError) -> (String?, String) {
    switch e {
    case let .typeMismatch(_, c), let .valueNotFound(_, c), let .dataCorrupted(c):
        return (c.codingPath.first?.stringValue, c.underlyingError.map { "\($0)" } ?? c.debugDescription)
    case let .keyNotFound(k, c):
        return (c.codingPath.first?.stringValue ?? k.stringValue, "missing '\(k.stringValue)'")
    @unknown default:
        return (nil, "\(e)")
    }
}

private func jsonText(_ v: Any) -> String {
    if let s = v as? String { return "'\(s)'" }
    if let d = try? JSONSerialization.data(withJSONObject: v, options: [.fragmentsAllowed]) { return String(decoding: d, as: UTF8.self) }
    return "\(v)"
}

/// The names each enumerated setting accepts, for error messages.
private let allowedValues: [String: [String]] = [
    "pattern": ["unstructured", "N:M (e.g. 2:4)"],
    "group": ComparisonGroup.allCases.map(\.rawValue),
    "allocation": SparsityAllocation.allCases.map(\.rawValue),
    "ties": TieBreak.allCases.map(\.rawValue),
    "order": PruneOrder.allCases.map(\.rawValue),
    "mode": StructuredMode.allCases.map(\.rawValue),
    "ratio_mode": RatioMode.allCases.map(\.rawValue),
    "taylor": TaylorOrder.allCases.map(\.rawValue),
    "aggregation": GroupAggregation.allCases.map(\.rawValue),
    "layer_score": LayerScore.allCases.map(\.rawValue),
    "schedule": LearningRateSchedule.allCases.map(\.rawValue),
    "dataset": PerplexityDataset.allCases.map(\.rawValue),
    "protocol": PerplexityProtocol.allCases.map(\.rawValue),
    "sparse_format": SparseFormat.allCases.map(\.rawValue),
    "matrices": Projection.allCases.map(\.rawValue),
]

/// Expands list-valued keys of an entry into the cartesian product of their values, in the
/// order the keys were written (the last key varies fastest). `fixedLists` are keys whose value
/// is itself a list (layer ranges, matrices): never an axis.
func gridProduct(_ entries: [(key: String, keyAt: ConfigLocation, value: ConfigValue.Located)],
                 fixedLists: Set<String>) throws -> [[String: ConfigValue.Located]] {
    var combos: [[String: ConfigValue.Located]] = [[:]]
    for e in entries {
        let values: [ConfigValue.Located]
        if case .list(let l) = e.value.value, !fixedLists.contains(e.key) {
            guard !l.isEmpty else { throw StudyConfigError.invalid(e.value.at, "\(e.key): an empty list leaves no cells; give at least one value") }
            values = l
        } else {
            values = [e.value]
        }
        // Checked before expanding: lists of a few hundred values under several keys would
        // otherwise build millions of combinations (and hang) before the study's size is known.
        guard combos.count * values.count <= StudyConfig.maxCells else {
            throw StudyConfigError.invalid(e.value.at, "\(e.key): the lists of this entry multiply to more than \(StudyConfig.maxCells) combinations, more cells than a study may have; split it into several studies")
        }
        combos = combos.flatMap { c in values.map { v in var c = c; c[e.key] = v; return c } }
    }
    return combos
}

/// "4-27" or [4, 27] as the JSON of a ClosedRange ([4, 27]).
func layerRangeJSON(_ v: ConfigValue.Located, key: String) throws -> [Int] {
    switch v.value {
    case .string(let s):
        let parts = s.split(separator: "-").map { Int($0.trimmingCharacters(in: .whitespaces)) }
        if parts.count == 2, let a = parts[0], let b = parts[1], a <= b { return [a, b] }
    case .int(let i) where i >= 0:
        return [i, i]
    case .list(let l) where l.count == 2:
        if case .int(let a) = l[0].value, case .int(let b) = l[1].value, a <= b { return [a, b] }
    default: break
    }
    throw StudyConfigError.invalid(v.at, "\(key): expected a layer range like \"4-27\" or [4, 27]")
}

/// `calibration: c4` (a dataset) or `calibration: path/to/tokens.bin` (a token file).
func calibrationJSON(_ v: ConfigValue.Located) throws -> [String: Any] {
    if case .map = v.value {
        let s = try Section(v, name: "calibration", allowed: ["dataset", "token_file"])
        guard s.keys.count == 1 else { throw StudyConfigError.invalid(v.at, "calibration: give one of dataset or token_file") }
        if let d = s["dataset"] {
            let name = try d.string("dataset")
            guard CalibrationDataset(rawValue: name) != nil else {
                throw StudyConfigError.invalid(d.at, "calibration: unknown dataset '\(name)'; one of: \(CalibrationDataset.allCases.map(\.rawValue).joined(separator: ", "))")
            }
        }
        return v.value.json as? [String: Any] ?? [:]
    }
    let s = try v.string("calibration")
    if CalibrationDataset(rawValue: s) != nil { return ["dataset": s] }
    if s.contains("/") || s.hasSuffix(".bin") { return ["token_file": s] }
    throw StudyConfigError.invalid(v.at, "calibration: '\(s)' is neither a dataset (\(CalibrationDataset.allCases.map(\.rawValue).joined(separator: ", "))) nor a token file path")
}

enum PruningEntry {
    /// Settings the study sets itself, never the user: where data and outputs go, and the seed (`seeds`).
    static let managed: Set<String> = ["eval", "output", "data_dir", "threads", "seed", "memory_budget"]
    static let rangeKeys: Set<String> = ["layers", "attn_layers", "mlp_layers"]

    static func expand(_ e: ConfigValue.Located, section: String) throws -> [(pruning: CellPruning, recovery: [RecoverSettings?]?)] {
        if case .string(let s) = e.value, s == "dense" || s == "none" { return [(.dense, nil)] }
        let unstructuredKeys = PruneSettings.CodingKeys.allCases.map(\.stringValue).filter { !managed.contains($0) }
        let structuredKeys = StructuredPruneSettings.CodingKeys.allCases.map(\.stringValue).filter { !managed.contains($0) }
        let all = Array(Set(unstructuredKeys + structuredKeys + ["structured", "recovery"])).sorted()
        let entry = try Section(e, name: section, allowed: all)
        guard entry["method"] != nil else { throw StudyConfigError.missingKey(e.at, key: "method", section: section) }
        // An entry's own `recovery` list replaces the study's for its cells.
        let recovery = try entry["recovery"].map { v in
            try v.listOrOne("recovery").enumerated().reduce(into: [RecoverSettings?]()) { all, item in
                all += try RecoveryEntry.expand(item.element, section: "\(section).recovery[\(item.offset)]")
                try checkGridSize(all.count, at: item.element.at, axis: "\(section).recovery")
            }
        }
        var out: [CellPruning] = []
        for combo in try gridProduct(entry.all.filter { $0.key != "recovery" }, fixedLists: rangeKeys.union(["matrices"])) {
            let method = try combo["method"]!.string("method")
            let structured: Bool
            if let s = combo["structured"] {
                structured = try s.bool("structured")
            } else if PruneMethod(rawValue: method) != nil && StructuredCriterion(rawValue: method) == nil {
                structured = false   // its structured-only keys are reported as unknown below
            } else {
                structured = ["taylor", "l1", "l2"].contains(method)
                    || combo.keys.contains { !unstructuredKeys.contains($0) && structuredKeys.contains($0) }
            }
            let allowed = structured ? structuredKeys : unstructuredKeys
            for k in combo.keys where k != "structured" && !allowed.contains(k) {
                throw StudyConfigError.unknownKey(entry.location(of: k), key: k,
                                                  section: "\(section) (\(structured ? "structured" : "unstructured") pruning)",
                                                  allowed: allowed)
            }
            var json: [String: Any] = [:]
            for (k, v) in combo where k != "structured" {
                if rangeKeys.contains(k) { json[k] = try layerRangeJSON(v, key: k) }
                else if k == "calibration" { json[k] = try calibrationJSON(v) }
                else { json[k] = v.value.json }
            }
            let at = { (k: String) in entry.location(of: k) }
            if structured {
                guard StructuredCriterion(rawValue: method) != nil else {
                    throw StudyConfigError.invalid(at("method"), "\(section): structured method '\(method)' is not one of \(StructuredCriterion.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                let s = try decodeSettings(StructuredPruneSettings.self, defaults: StructuredPruneSettings(), overrides: json, at: at, section: section)
                guard s.ratio > 0, s.ratio < 1 else { throw StudyConfigError.invalid(at("ratio"), "\(section): ratio must be in (0, 1), got \(s.ratio)") }
                out.append(.structured(s))
            } else {
                guard PruneMethod(rawValue: method) != nil else {
                    let known = PruneMethod.allCases.map(\.rawValue) + StructuredCriterion.allCases.map(\.rawValue).filter { PruneMethod(rawValue: $0) == nil }
                    throw StudyConfigError.invalid(at("method"), "\(section): unknown pruning method '\(method)'; one of: \(known.joined(separator: ", "))")
                }
                var s = try decodeSettings(PruneSettings.self, defaults: PruneSettings(), overrides: json, at: at, section: section)
                if let implied = s.pattern.impliedSparsity {
                    if combo["sparsity"] != nil, abs(s.sparsity - implied) > 1e-9 {
                        throw StudyConfigError.invalid(at("sparsity"), "\(section): pattern \(s.pattern) fixes the sparsity at \(implied); drop 'sparsity'")
                    }
                    s.sparsity = implied
                }
                guard s.sparsity > 0, s.sparsity < 1 else {
                    throw StudyConfigError.invalid(at("sparsity"), "\(section): sparsity must be in (0, 1), got \(s.sparsity)")
                }
                out.append(.unstructured(s))
            }
        }
        return out.map { ($0, recovery) }
    }
}

extension RecoveryDataSource {
    /// The JSON the type's decoder reads ({"dataset": …} or {"file": …}).
    var jsonObject: [String: Any] {
        if case .file(let p) = self { return ["file": p] }
        return ["dataset": description]
    }
}

enum RecoveryEntry {
    static let managed: Set<String> = ["eval", "output", "resume", "checkpoint_every", "data_dir", "threads", "seed"]
    /// `data` may be a dataset name, a path, or a mapping of the data settings; these keys set the
    /// data's window length and split from the entry itself.
    static let dataKeys = ["seqlen", "max_examples", "val_windows", "train_on_inputs"]

    static func expand(_ e: ConfigValue.Located, section: String) throws -> [RecoverSettings?] {
        if case .string(let s) = e.value, s == "none" { return [nil] }
        let keys = RecoverSettings.CodingKeys.allCases.map(\.stringValue).filter { !managed.contains($0) } + dataKeys
        let entry = try Section(e, name: section, allowed: keys.sorted())
        var out: [RecoverSettings?] = []
        for combo in try gridProduct(entry.all, fixedLists: ["targets"]) {
            let at = { (k: String) in entry.location(of: k) }
            var json: [String: Any] = [:]
            var data = RecoveryDataSettings(source: .c4)
            // `data` first, so that the entry's own seqlen / max_examples / ... override it, always.
            for (k, v) in combo.sorted(by: { a, b in (a.key == "data" ? 0 : 1, a.key) < (b.key == "data" ? 0 : 1, b.key) }) {
                switch k {
                case "data":
                    if case .map = v.value {
                        let d = try Section(v, name: "\(section).data",
                                            allowed: ["source", "seqlen", "max_examples", "validation_count", "train_on_inputs",
                                                      "add_eos_token", "file_format"])
                        var json = v.value.json as? [String: Any] ?? [:]
                        if let src = json["source"] as? String { json["source"] = try RecoveryDataSource(argument: src).jsonObject }
                        data = try decodeSettings(RecoveryDataSettings.self, defaults: data, overrides: json,
                                                  at: { d.location(of: $0) }, section: "\(section).data")
                    } else {
                        data.source = RecoveryDataSource(argument: try v.string("data"))
                    }
                case "seqlen": data.seqlen = try v.int("seqlen")
                case "max_examples": data.maxExamples = try v.int("max_examples")
                case "val_windows": data.validationCount = try v.int("val_windows")
                case "train_on_inputs": data.trainOnInputs = try v.bool("train_on_inputs")
                case "method":
                    let m = try v.string("method")
                    if m == "distill" {
                        json["method"] = RecoveryMethod.lora.rawValue
                        if combo["teacher"] == nil { json["teacher"] = StudyConfig.denseTeacher }
                    } else {
                        guard RecoveryMethod(rawValue: m) != nil else {
                            throw StudyConfigError.invalid(at(k), "\(section): unknown recovery method '\(m)'; one of: lora, full, distill (LoRA from the dense model), or the entry none")
                        }
                        json["method"] = m
                    }
                default: json[k] = v.value.json
                }
            }
            var s = try decodeSettings(RecoverSettings.self, defaults: RecoverSettings(), overrides: json, at: at, section: section)
            s.data = data
            do { try s.validate() } catch {
                throw StudyConfigError.invalid(entry.value.at, "\(section): \(error)")
            }
            out.append(s)
        }
        return out
    }
}

enum EvaluationEntry {
    static func read(_ v: ConfigValue.Located) throws -> StudyEvaluation {
        let name = "evaluation"
        let section = try Section(v, name: name, allowed: StudyEvaluation.CodingKeys.allCases.map(\.stringValue))
        var e = StudyEvaluation()
        if let p = section["perplexity"] {
            e.perplexity = try p.listOrOne("perplexity").enumerated().map { i, item in
                let s = try Section(item, name: "evaluation.perplexity[\(i)]", allowed: PruneEvaluationSettings.CodingKeys.allCases.map(\.stringValue))
                let settings = try decodeSettings(PruneEvaluationSettings.self, defaults: PruneEvaluationSettings(dataset: .wikitext2),
                                                  overrides: item.value.json as? [String: Any] ?? [:], at: { s.location(of: $0) },
                                                  section: "evaluation.perplexity[\(i)]")
                guard settings.windows >= 1 else { throw StudyConfigError.invalid(s.location(of: "windows"), "evaluation.perplexity[\(i)]: windows must be ≥ 1") }
                if let n = settings.seqlen, n < 2 {
                    throw StudyConfigError.invalid(s.location(of: "seqlen"), "evaluation.perplexity[\(i)]: seqlen must be ≥ 2 (got \(n))")
                }
                return settings.resolved
            }
        }
        if let t = section["tasks"] {
            if case .string("all") = t.value {
                e.tasks = ZeroShotTask.allCases
            } else {
                e.tasks = try t.listOrOne("tasks").map { item in
                    let s = try item.string("tasks")
                    guard let task = ZeroShotTask(rawValue: s) else {
                        throw StudyConfigError.invalid(item.at, "evaluation.tasks: unknown task '\(s)'; one of: \(ZeroShotTask.names.joined(separator: ", ")), or all")
                    }
                    return task
                }
            }
        }
        if let l = section["limit"] {
            let n = try l.int("limit")
            guard n >= 1 else { throw StudyConfigError.invalid(l.at, "evaluation.limit must be ≥ 1") }
            e.limit = n
        }
        if let b = section["batch_size"] {
            e.batchSize = try b.int("batch_size")
            guard e.batchSize >= 1 else { throw StudyConfigError.invalid(b.at, "evaluation.batch_size must be ≥ 1") }
        }
        if let f = section["efficiency"] {
            switch f.value {
            case .bool(let on): e.efficiency = on ? EfficiencyRunSettings() : nil
            default:
                let s = try Section(f, name: "evaluation.efficiency",
                                    allowed: EfficiencyRunSettings.CodingKeys.allCases.map(\.stringValue).filter { $0 != "threads" })
                let eff = try decodeSettings(EfficiencyRunSettings.self, defaults: EfficiencyRunSettings(),
                                             overrides: f.value.json as? [String: Any] ?? [:], at: { s.location(of: $0) },
                                             section: "evaluation.efficiency")
                for (key, value, least) in [("prompt_length", eff.promptLength, 1), ("decode_tokens", eff.decodeTokens, 1),
                                            ("repetitions", eff.repetitions, 1), ("warmup", eff.warmup, 0)] where value < least {
                    throw StudyConfigError.invalid(s.location(of: key), "evaluation.efficiency: \(key) must be ≥ \(least) (got \(value))")
                }
                e.efficiency = eff
            }
        }
        return e
    }
}
