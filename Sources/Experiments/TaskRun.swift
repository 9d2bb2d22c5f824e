import Evaluation
import Foundation
import LLM
import ModelIO

/// Settings of `eval tasks`.
public struct TaskSettings: Codable, Sendable, Equatable {
    /// Default: the zero-shot multiple-choice tasks; LAMBADA and TruthfulQA only when named.
    public var tasks: [EvalTask] = EvalTask.defaults
    /// The first N documents of each task; nil: all.
    public var limit: Int?
    /// Documents scored per batch, their tokens packed into forwards of at most `maxRows` rows.
    public var batchSize = 32
    public var maxRows = 4096
    /// Longest input in tokens (longer ones are cut on the left, as lm-eval does); nil: the
    /// model's context length (max_position_embeddings), which is what lm-eval's HFLM reads.
    /// The record holds the resolved value.
    public var maxLength: Int?
    /// A JSON-lines file that receives one line per scored document; nil: none.
    public var logSamples: String?
    public var dataDirectory: String?
    public var threads: Int?
    /// Encoding the matrices run in (`WeightEncoding`); nil: float32 as loaded.
    public var weights: WeightEncoding?

    public init() {}

    enum CodingKeys: String, CodingKey {
        case tasks, limit, batchSize = "batch_size", maxRows = "max_rows", maxLength = "max_length"
        case logSamples = "log_samples", dataDirectory = "data_dir", threads, weights
    }
}

/// What `eval tasks` reports beside the metrics: per-task scores keyed by task (as the
/// command always printed them), the average of the reported metrics, and the time.
public struct TaskRunResult: Codable, Sendable, Equatable {
    public struct Task: Codable, Sendable, Equatable {
        public var acc, accStderr: Double
        /// Only for the zero-shot multiple-choice tasks (absent from the JSON otherwise).
        public var accNorm, accNormStderr: Double?
        /// Only for lambada_openai: exp(−mean loglikelihood of the target) over documents.
        public var perplexity: Double?
        public var n: Int
        public var metric: String
        public var seconds: Double

        enum CodingKeys: String, CodingKey {
            case acc, accStderr = "acc_stderr", accNorm = "acc_norm", accNormStderr = "acc_norm_stderr", perplexity, n, metric, seconds
        }
    }

    public var tasks: [String: Task]
    /// Mean of each zero-shot multiple-choice task's reported metric (acc_norm for hellaswag,
    /// arc_challenge, openbookqa; acc otherwise); LAMBADA and TruthfulQA never enter it. nil when
    /// no zero-shot task ran.
    public var average: Double?
    public var seconds: Double

    enum CodingKeys: String, CodingKey { case tasks, average, seconds }
}

/// `secateur eval tasks`: zero-shot multiple-choice tasks scored as lm-evaluation-harness v0.4 does.
public struct TaskRun {
    public var settings: TaskSettings

    public init(settings: TaskSettings) { self.settings = settings }

    /// Reads every task's documents first (a missing file is reported before the model is loaded).
    public func run(modelSpec: String, progress: RunProgressHandler = { _ in }) throws -> RunRecord {
        var context = RunContext(threads: settings.threads)
        return try withEngineThreads(context.threads) {
            let docs = try documents(&context)
            let (loaded, identity) = try context.load(modelSpec)
            return try evaluate(docs, loaded: loaded, identity: identity, context: &context, progress: progress)
        }
    }

    public func run(model loaded: LoadedModel, progress: RunProgressHandler = { _ in }) throws -> RunRecord {
        var context = RunContext(threads: settings.threads)
        return try withEngineThreads(context.threads) {
            let docs = try documents(&context)
            let identity = try context.identify(loaded)
            return try evaluate(docs, loaded: loaded, identity: identity, context: &context, progress: progress)
        }
    }

    private func documents(_ context: inout RunContext) throws -> [[TaskDocument]] {
        let data = DataDirectory(explicit: settings.dataDirectory)
        if let path = settings.logSamples {
            // Refuse an unwritable destination now, not after the whole evaluation.
            let dir = URL(fileURLWithPath: path).deletingLastPathComponent().path
            guard FileManager.default.isWritableFile(atPath: dir) else {
                throw RunRecordError.writeFailed(path: path, reason: "directory \(dir) is not writable")
            }
        }
        return try context.clock.measure("dataset") { try settings.tasks.map { try $0.documents(data: data, limit: settings.limit) } }
    }

    private func evaluate(_ docs: [[TaskDocument]], loaded: LoadedModel, identity: ModelIdentity, context: inout RunContext,
                          progress: RunProgressHandler) throws -> RunRecord {
        let model = loaded.model
        if let w = settings.weights {
            let summary = try loaded.useWeights(w)
            progress(.note("weights \(w.rawValue): \(summary.description)"))
        }
        let maxLength = settings.maxLength ?? model.maxPositions
        if model.hasLearnedPositions && maxLength > model.maxPositions {
            throw TaskSettingError.maxLengthBeyondPositions(requested: maxLength, positions: model.maxPositions)
        }
        let enc = JSONEncoder()
        enc.outputFormatting = [.sortedKeys]
        var samples = Data()
        var results: [(EvalTask, TaskResult)] = []
        let start = Date()
        for (task, ds) in zip(settings.tasks, docs) {
            progress(.note("\(loaded.name): \(task.name), \(ds.count) documents"))
            let r = try context.clock.measure("task.\(task.name)") {
                try TaskEvaluation.evaluate(task: task, documents: ds, model: loaded.model, tokenizer: loaded.tokenizer,
                                            batchSize: settings.batchSize, maxLength: maxLength, rowsPerForward: settings.maxRows,
                                            progress: { progress(.steps(label: task.name, done: $0, total: $1, seconds: $2,
                                                                        unitsPerStep: 1, unit: "doc")) },
                                            sample: { s in if settings.logSamples != nil { samples += try enc.encode(s) + Data("\n".utf8) } })
            }
            results.append((task, r))
        }
        let seconds = Date().timeIntervalSince(start)
        if let path = settings.logSamples {
            try context.clock.measure("log_samples") { try writeFileAtomically(samples, to: path) }
        }
        var metrics = RunMetrics()
        var perTask: [String: TaskRunResult.Task] = [:]
        for (t, r) in results {
            metrics.tasks.append(TaskMetricRecord(task: t.name, acc: r.acc, accStderr: r.acc_stderr, accNorm: r.acc_norm,
                                                  accNormStderr: r.acc_norm_stderr, perplexity: r.perplexity, n: r.n,
                                                  reported: r.metric.rawValue, stage: .dense))
            perTask[t.name] = .init(acc: r.acc, accStderr: r.acc_stderr, accNorm: r.acc_norm, accNormStderr: r.acc_norm_stderr,
                                    perplexity: r.perplexity, n: r.n, metric: r.metric.rawValue, seconds: r.seconds)
        }
        var resolved = settings
        resolved.dataDirectory = DataDirectory(explicit: settings.dataDirectory).url.path
        resolved.threads = context.threads
        resolved.maxLength = maxLength
        let zeroShot = results.filter { $0.0.zeroShotTask != nil }.map(\.1)
        return context.record(model: identity, settings: .evalTasks(resolved), metrics: metrics,
                              result: .evalTasks(TaskRunResult(tasks: perTask, average: zeroShot.isEmpty ? nil : TaskEvaluation.average(zeroShot),
                                                               seconds: seconds)))
    }
}

/// A task setting the model cannot honour.
public enum TaskSettingError: SettingError, Equatable {
    /// Inputs longer than a learned position table have no positions to read.
    case maxLengthBeyondPositions(requested: Int, positions: Int)

    public func description(namingSetting name: (String) -> String) -> String {
        switch self {
        case let .maxLengthBeyondPositions(r, p):
            return "\(name("max_length")) \(r) is longer than the model's \(p) learned positions; use at most \(p)"
        }
    }
}
