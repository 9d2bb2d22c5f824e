import Compute
import Evaluation
import Foundation
import LLM
import ModelIO
import Pruning

/// A cell as planned: its key in the store, its rough cost, and whether the store has it.
public struct PlannedCell: Codable, Sendable {
    public var index: Int
    public var key: String
    public var label: String
    public var model: String
    public var modelSHA256: String
    /// Rough wall-clock seconds here (see `StudyPlanner.estimate`).
    public var estimatedSeconds: Double
    /// The store's status of this key; nil: not stored (will run).
    public var stored: StoredCell.Status?
    public var cell: StudyCell

    enum CodingKeys: String, CodingKey {
        case index, key, label, model, modelSHA256 = "model_sha256", estimatedSeconds = "estimated_seconds", stored, cell
    }
}

/// The cells of a study, in order, checked against their models and data.
public struct StudyPlan: Sendable {
    public var study: String
    public var cells: [PlannedCell]
    /// The sgemm rate the estimates assume (GFLOP/s, measured on this machine).
    public var gflops: Double

    /// Cells that will run: not stored complete.
    public var pending: [PlannedCell] { cells.filter { $0.stored != .complete } }
}

/// Expands a study into cells and checks every one before any runs: each model loads, each
/// structured ratio is reachable on it, each unstructured setting fits its layers, each dataset
/// a cell reads is there. Loads each model once (to hash it and check shapes).
public struct StudyPlanner {
    public var config: StudyConfig
    public var dataDirectory: String?

    public init(config: StudyConfig, dataDirectory: String? = nil) {
        self.config = config; self.dataDirectory = dataDirectory
    }

    public func plan(store: ResultsStore?, gflops: Double? = nil) throws -> StudyPlan {
        let data = DataDirectory(explicit: dataDirectory)
        let cells = config.cells
        let stored = try store?.statuses() ?? [:]
        try checkDatasets(cells, data: data)
        let rate = gflops ?? max(1, GEMMThroughput.measure(repeats: 2))
        var planned: [PlannedCell] = []
        var teacherHashes: [String: String] = [:]
        for model in config.models {
            let loaded: LoadedModel
            do { loaded = try ModelLoader.load(model) } catch {
                throw StudyConfigError.impossibleCell(cell: "\(model) (all cells)", reason: "\(error)")
            }
            let sha = try ModelIdentity.sha256(of: loaded.location)
            // Perplexity windows the text cannot provide fail here, once per model and setting.
            for e in config.evaluation.perplexity {
                do { _ = try e.prepare(loaded, data: data) } catch {
                    throw StudyConfigError.impossibleCell(cell: "\(model) (perplexity \(e.dataset.rawValue))", reason: "\(error)")
                }
            }
            for cell in cells where cell.model == model {
                try check(cell, on: loaded, data: data)
                var teacherSHA: String?
                if let t = cell.recovery?.teacher, t != cell.model {
                    teacherSHA = try teacherHashes[t] ?? ModelIdentity.sha256(of: ModelCache.resolve(t))
                    teacherHashes[t] = teacherSHA
                }
                let key = try cell.key(modelSHA256: sha, teacherSHA256: teacherSHA)
                if let same = planned.first(where: { $0.key == key }) {
                    throw StudyConfigError.impossibleCell(cell: cell.label, reason: "it is the same cell as '\(same.label)' on \(same.model) (the same weights under two names?)")
                }
                planned.append(PlannedCell(index: 0, key: key, label: cell.label, model: model, modelSHA256: sha,
                                           estimatedSeconds: Self.estimate(cell, model: loaded.model, gflops: rate),
                                           stored: stored[key], cell: cell))
            }
        }
        // The order of `config.cells` (models outermost), whatever order the models loaded in.
        for i in planned.indices { planned[i].index = i }
        return StudyPlan(study: config.name, cells: planned, gflops: rate)
    }

    /// The checks that need the model: shapes, layer ranges, reachable ratios.
    private func check(_ cell: StudyCell, on loaded: LoadedModel, data: DataDirectory) throws {
        do {
            switch cell.pruning {
            case .dense: break
            case .unstructured(let s):
                var c = s.configuration
                if s.matrices == nil { c.matrices = loaded.model.projections }
                try c.validate(layerCount: loaded.model.layerCount)
                if s.needsCalibration, case .tokenFile(let p) = s.calibration, !FileManager.default.fileExists(atPath: p) {
                    throw StudyConfigError.impossibleCell(cell: cell.label, reason: "calibration token file \(p) not found")
                }
            case .structured(let s):
                try StructuredPruner.checkBudget(loaded.model, configuration: s.configuration)
                if s.needsCalibration, case .tokenFile(let p) = s.calibration, !FileManager.default.fileExists(atPath: p) {
                    throw StudyConfigError.impossibleCell(cell: cell.label, reason: "calibration token file \(p) not found")
                }
            }
            if let r = cell.recovery {
                if let targets = r.targets { for t in targets { _ = try loaded.model.projection(named: t) } }
                if let t = r.teacher, t != cell.model { _ = try ModelCache.resolve(t) }
                if case .file(let p) = r.data.source, !FileManager.default.fileExists(atPath: p) {
                    throw StudyConfigError.impossibleCell(cell: cell.label, reason: "recovery data file \(p) not found")
                }
            }
        } catch let e as StudyConfigError {
            throw e
        } catch {
            throw StudyConfigError.impossibleCell(cell: cell.label, reason: "\(error)")
        }
    }

    /// Every dataset the cells read, opened once: a missing file fails the plan, naming it.
    private func checkDatasets(_ cells: [StudyCell], data: DataDirectory) throws {
        var seen = Set<String>()
        func once(_ what: String, _ body: () throws -> Void) throws {
            guard seen.insert(what).inserted else { return }
            do { try body() } catch {
                throw StudyConfigError.missingData(what: what, reason: "\(error)")
            }
        }
        for cell in cells {
            for e in cell.evaluation.perplexity {
                try once("perplexity \(e.dataset.rawValue)") { _ = try PerplexityCorpus.text(dataset: e.dataset.rawValue, protocol: e.protocol, data: data) }
            }
            for t in cell.evaluation.tasks {
                try once("task \(t.rawValue)") { _ = try t.documents(data: data, limit: 1) }
            }
            var calibration: CalibrationSource?
            switch cell.pruning {
            case .unstructured(let s) where s.needsCalibration: calibration = s.calibration
            case .structured(let s) where s.needsCalibration: calibration = s.calibration
            default: break
            }
            if case .dataset(let d) = calibration {
                try once("calibration \(d.rawValue)") { try d.checkPresent(data: data) }
            }
            if let r = cell.recovery {
                try once("recovery data \(r.data.source)") { _ = try RecoveryTextCorpus.documents(dataset: r.data.source, data: data) }
            }
        }
    }

    /// Seconds a cell should take here: its floating-point work (2·P per token forward, 6·P with
    /// a backward, 4·P for LoRA, whose frozen weights get no gradient) at half the measured sgemm
    /// rate, plus two seconds to load. Rough on purpose: it orders the grid and sets the ETA, which
    /// the runner corrects with the cells' real times as they finish.
    public static func estimate(_ cell: StudyCell, model: LanguageModel, gflops: Double) -> Double {
        let perToken = model.forwardFLOPs(length: 256) / 256
        var flops = 0.0
        switch cell.pruning {
        case .dense: break
        case .unstructured(let s):
            if s.needsCalibration { flops += Double(s.nsamples * s.seqlen) * perToken * (s.method == .sparsegpt ? 3 : 1.2) }
        case .structured(let s):
            if s.needsCalibration { flops += Double(s.calibrationWindows * s.calibrationSeqlen) * perToken * 3 }
        }
        if let r = cell.recovery {
            let steps = r.steps ?? 100
            let tokens = Double(steps * r.batchSize * r.gradientAccumulation * r.data.seqlen)
            flops += tokens * perToken * (r.method == .lora ? 2 : 3) * (r.teacher != nil ? 1.5 : 1)
        }
        for e in cell.evaluation.perplexity { flops += Double(e.windows * (e.seqlen ?? e.protocol.defaultSeqlen)) * perToken }
        // A multiple-choice document costs about 60 tokens of forward work (measured on SmolLM2:
        // five tasks × 50 documents in 35 s at 400 tokens/s).
        let docs = Double(cell.evaluation.limit ?? 1000)
        flops += Double(cell.evaluation.tasks.count) * docs * 60 * perToken
        var seconds = 2 + flops / (gflops * 1e9 * 0.5)
        if let e = cell.evaluation.efficiency {
            // Decode is bound by reading the weights once per token (about 10 GB/s here).
            let decode = Double(e.decodeTokens * (e.repetitions + e.warmup)) * Double(model.parameterCount) * 4 / 10e9
            let prefill = Double(e.promptLength * (e.repetitions + e.warmup)) * perToken / (gflops * 1e9 * 0.5)
            seconds += decode + prefill
        }
        return seconds
    }
}
