import Foundation

/// Every task `eval tasks` can run: the eight zero-shot multiple-choice tasks (the default set,
/// and the only ones in the task average) and tasks scored otherwise, selectable by name.
/// LAMBADA reports a perplexity, TruthfulQA MC2 a probability mass: averaging them with
/// accuracies would change what "the average" means, so they are never part of it.
public enum EvalTask: Hashable, Sendable, Codable, CustomStringConvertible {
    case zeroShot(ZeroShotTask)
    /// lm-eval `lambada_openai`: acc (greedy last word) and perplexity.
    case lambadaOpenAI
    /// lm-eval `truthfulqa_mc1`: acc over MC1 choices (one true answer).
    case truthfulqaMC1
    /// lm-eval `truthfulqa_mc2`: acc = normalised probability mass on the true MC2 answers.
    case truthfulqaMC2

    /// The default selection ("all"): the zero-shot multiple-choice tasks.
    public static let defaults = ZeroShotTask.allCases.map(EvalTask.zeroShot)
    public static let allCases = defaults + [.lambadaOpenAI, .truthfulqaMC1, .truthfulqaMC2]
    public static let names = allCases.map(\.name)

    /// lm-eval's task name.
    public var name: String {
        switch self {
        case .zeroShot(let t): return t.rawValue
        case .lambadaOpenAI: return "lambada_openai"
        case .truthfulqaMC1: return "truthfulqa_mc1"
        case .truthfulqaMC2: return "truthfulqa_mc2"
        }
    }

    public var description: String { name }

    public init?(name: String) {
        guard let t = Self.allCases.first(where: { $0.name == name }) else { return nil }
        self = t
    }

    /// The task in the zero-shot average, if it is one.
    public var zeroShotTask: ZeroShotTask? {
        if case .zeroShot(let t) = self { return t }
        return nil
    }

    /// The metric that stands for the task (`reported` in records): lm-eval's `acc` for the tasks
    /// outside the average (for MC2 that is the true-answer mass).
    public var reportedMetric: TaskMetric { zeroShotTask?.reportedMetric ?? .acc }

    /// Whether lm-eval reports acc_norm for it (the multiple-choice zero-shot tasks) and perplexity
    /// (lambada_openai's `metric_list`).
    public var hasAccNorm: Bool { zeroShotTask != nil }
    public var hasPerplexity: Bool { self == .lambadaOpenAI }

    /// Files read (relative to the data folder).
    public var files: [String] {
        switch self {
        case .zeroShot(let t): return t.files
        case .lambadaOpenAI: return [LambadaOpenAI.file]
        case .truthfulqaMC1, .truthfulqaMC2: return [TruthfulQA.file]
        }
    }

    /// The first `limit` documents (all when nil), in file order (lm-eval's `--limit`).
    public func documents(data: DataDirectory, limit: Int? = nil) throws -> [TaskDocument] {
        switch self {
        case .zeroShot(let t): return try t.documents(data: data, limit: limit)
        case .lambadaOpenAI: return try LambadaOpenAI.documents(data: data, limit: limit)
        case .truthfulqaMC1: return try TruthfulQA.documents(.mc1, data: data, limit: limit)
        case .truthfulqaMC2: return try TruthfulQA.documents(.mc2, data: data, limit: limit)
        }
    }

    /// Parses "boolq,lambada_openai,..." refusing unknown names; "all" stands for the default
    /// (zero-shot) set and may be combined with other names.
    public static func parseList(_ list: String) throws -> [EvalTask] {
        var out: [EvalTask] = []
        for item in list.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces) }) where !item.isEmpty {
            let tasks: [EvalTask]
            if item == "all" {
                tasks = defaults
            } else if let t = EvalTask(name: item) {
                tasks = [t]
            } else {
                throw DatasetError.unknownDataset(item, supported: names + ["all"])
            }
            out += tasks.filter { !out.contains($0) }
        }
        return out
    }

    // Encoded as lm-eval's task name, so run records keep their "tasks": ["boolq", ...] lists.
    public init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        let name = try c.decode(String.self)
        guard let t = EvalTask(name: name) else {
            throw DecodingError.dataCorruptedError(in: c, debugDescription: "unknown task '\(name)'")
        }
        self = t
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(name)
    }
}
