import Foundation

/// One loglikelihood request: score `continuation` after `context` (lm-eval's `(ctx, cont)` pair).
public struct TaskRequest: Codable, Equatable, Sendable {
    public let context: String
    public let continuation: String
    public init(context: String, continuation: String) {
        self.context = context; self.continuation = continuation
    }
}

/// One multiple-choice document, already turned into requests the way lm-eval v0.4 does it
/// (zero-shot, `target_delimiter` " "): one request per choice, `gold` the index of the answer.
/// `choices` are lm-eval's `doc_to_choice` strings; acc_norm divides each loglikelihood by the
/// length of its choice string in characters (Python `len(str)`, Unicode scalars). A LAMBADA
/// document (a loglikelihood task) is one request, its target the only "choice", gold 0.
public struct TaskDocument: Equatable, Sendable {
    public let index: Int
    public let requests: [TaskRequest]
    public let choices: [String]
    public let gold: Int
    /// Per choice, 1 for a true answer and 0 for a false one, where the task scores with labels
    /// (TruthfulQA's targets); empty otherwise.
    public let labels: [Int]

    public init(index: Int, requests: [TaskRequest], choices: [String], gold: Int, labels: [Int] = []) {
        self.index = index; self.requests = requests; self.choices = choices; self.gold = gold; self.labels = labels
    }
}

public enum TaskMetric: String, Codable, Sendable { case acc, accNorm = "acc_norm" }

/// The zero-shot multiple-choice tasks of the pruning literature, as lm-evaluation-harness v0.4
/// defines them, read from the local data folder (DESIGN.md §2).
public enum ZeroShotTask: String, CaseIterable, Codable, Sendable {
    case boolq, hellaswag, winogrande, arc_easy, arc_challenge, openbookqa, piqa, rte

    public static let names = allCases.map(\.rawValue)

    /// The metric this task contributes to the average. LLM-Pruner/Wanda-style tables report
    /// acc_norm for HellaSwag, ARC-Challenge and OpenBookQA, and acc for the others.
    public var reportedMetric: TaskMetric {
        switch self {
        case .hellaswag, .arc_challenge, .openbookqa: return .accNorm
        default: return .acc
        }
    }

    /// Files read (relative to the data folder).
    public var files: [String] {
        switch self {
        case .boolq: return ["boolq/dev.jsonl"]
        case .hellaswag: return ["hellaswag/hellaswag_val_full.txt"]
        case .winogrande: return ["winogrande/dev.jsonl"]
        case .arc_easy: return ["arc_easy/ARC-Easy-Test.jsonl"]
        case .arc_challenge: return ["arc_challenge/ARC-Challenge-Test.jsonl"]
        case .openbookqa: return ["openbookqa/test.jsonl"]
        case .piqa: return ["piqa/valid.jsonl", "piqa/valid-labels.lst"]
        case .rte: return ["rte/val.jsonl"]
        }
    }

    /// The first `limit` documents (all when nil), in file order (lm-eval's `--limit`).
    public func documents(data: DataDirectory, limit: Int? = nil) throws -> [TaskDocument] {
        let hint = "\(rawValue) data"
        switch self {
        case .hellaswag:
            let url = try data.file(files[0], hint: hint)
            return try Self.hellaswagSixLine(try data.text(files[0], hint: hint), file: url.path, limit: limit)
        case .piqa:
            let url = try data.file(files[0], hint: hint)
            let labelsURL = try data.file(files[1], hint: "PIQA labels")
            let labels = try data.text(files[1], hint: "PIQA labels")
                .split(separator: "\n", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
            return try JSONLines.numberedObjects(url, limit: limit).enumerated().map { i, item in
                let (line, obj) = item
                let f = Fields(obj, file: url.path, line: line)
                guard i < labels.count, let label = Int(labels[i]), label == 0 || label == 1 else {
                    throw DatasetError.malformedLine(file: labelsURL.path, line: i + 1, why: "expected a label 0 or 1 for \(url.lastPathComponent) line \(line)")
                }
                let context = "Question: \(try f.string("goal"))\nAnswer:"
                return Self.shared(i, context, [try f.string("sol1"), try f.string("sol2")], gold: label)
            }
        default:
            let url = try data.file(files[0], hint: hint)
            return try JSONLines.numberedObjects(url, limit: limit).enumerated().map { i, item in
                try document(i, Fields(item.1, file: url.path, line: item.0))
            }
        }
    }

    static func shared(_ index: Int, _ context: String, _ choices: [String], gold: Int) -> TaskDocument {
        TaskDocument(index: index, requests: choices.map { TaskRequest(context: context, continuation: " " + $0) },
                     choices: choices, gold: gold)
    }

    func document(_ i: Int, _ f: Fields) throws -> TaskDocument {
        switch self {
        case .boolq:
            // SuperGLUE boolq: passage = title + " -- " + passage, label = answer.
            let passage = "\(try f.string("title")) -- \(try f.string("passage"))"
            let context = "\(passage)\nQuestion: \(try f.string("question"))?\nAnswer:"
            return Self.shared(i, context, ["no", "yes"], gold: try f.bool("answer") ? 1 : 0)
        case .rte:
            // GLUE/SuperGLUE rte: label 0 = entailment ("True").
            let label = try f.string("label")
            guard label == "entailment" || label == "not_entailment" else {
                throw f.error("label must be entailment or not_entailment, got '\(label)'")
            }
            let context = "\(try f.string("premise"))\nQuestion: \(try f.string("hypothesis")) True or False?\nAnswer:"
            return Self.shared(i, context, ["True", "False"], gold: label == "entailment" ? 0 : 1)
        case .winogrande:
            // Partial evaluation: one context per option (the sentence up to "_" with the option
            // filled in), the same continuation (the rest of the sentence) for both.
            let sentence = try f.string("sentence")
            guard let blank = sentence.firstIndex(of: "_") else { throw f.error("sentence has no '_'") }
            let answer = try f.string("answer")
            guard answer == "1" || answer == "2" else { throw f.error("answer must be \"1\" or \"2\", got '\(answer)'") }
            let target = String(sentence[sentence.index(after: blank)...]).pythonStripped
            let prefix = String(sentence[..<blank])
            let contexts = [prefix + (try f.string("option1")), prefix + (try f.string("option2"))]
            return TaskDocument(index: i, requests: contexts.map { TaskRequest(context: $0, continuation: " " + target) },
                                choices: contexts, gold: answer == "1" ? 0 : 1)
        case .arc_easy, .arc_challenge, .openbookqa:
            let question = try f.object("question")
            let q = Fields(question, file: f.file, line: f.line, prefix: "question.")
            let stem = try q.string("stem")
            let choices = try q.objects("choices").map { Fields($0, file: f.file, line: f.line, prefix: "question.choices[].") }
            let texts = try choices.map { try $0.string("text") }
            let labels = try choices.map { try $0.string("label") }
            var key = try f.string("answerKey")
            if self == .openbookqa { key = String(key.drop(while: { $0 == " " || $0 == "\t" || $0 == "\n" })) }
            guard let gold = labels.firstIndex(of: key) else { throw f.error("answerKey '\(key)' is not one of the labels \(labels)") }
            let context = self == .openbookqa ? stem : "Question: \(stem)\nAnswer:"
            return Self.shared(i, context, texts, gold: gold)
        case .hellaswag, .piqa:
            fatalError("read separately")
        }
    }

    /// klosax's 6-line HellaSwag: "label: context", gold, four endings — already preprocessed,
    /// used as given (query = line 1, choices = lines 3–6).
    static func hellaswagSixLine(_ text: String, file: String, limit: Int?) throws -> [TaskDocument] {
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        if lines.last == "" { lines.removeLast() }
        guard lines.count % 6 == 0 else {
            throw DatasetError.malformedLine(file: file, line: lines.count, why: "expected 6 lines per item, file has \(lines.count) lines")
        }
        let n = min(lines.count / 6, limit ?? Int.max)
        return try (0..<n).map { i in
            let b = i * 6
            guard let gold = Int(lines[b + 1]), (0..<4).contains(gold) else {
                throw DatasetError.malformedLine(file: file, line: b + 2, why: "expected a gold label 0 to 3, got '\(lines[b + 1])'")
            }
            return shared(i, lines[b], Array(lines[(b + 2)..<(b + 6)]), gold: gold)
        }
    }
}

extension String {
    /// Python's `str.strip()` (whitespace at both ends).
    var pythonStripped: String { trimmingCharacters(in: .whitespacesAndNewlines) }
}

/// Typed access to one JSON object of a data file; every failure names the file and line.
struct Fields {
    let obj: [String: Any]
    let file: String
    let line: Int
    var prefix = ""

    init(_ obj: [String: Any], file: String, line: Int, prefix: String = "") {
        self.obj = obj; self.file = file; self.line = line; self.prefix = prefix
    }

    func error(_ why: String) -> DatasetError { .malformedLine(file: file, line: line, why: why) }

    func string(_ k: String) throws -> String {
        guard let v = obj[k] as? String else { throw error("no string field '\(prefix)\(k)'") }
        return v
    }
    func bool(_ k: String) throws -> Bool {
        guard let v = obj[k] as? Bool else { throw error("no boolean field '\(prefix)\(k)'") }
        return v
    }
    func object(_ k: String) throws -> [String: Any] {
        guard let v = obj[k] as? [String: Any] else { throw error("no object field '\(prefix)\(k)'") }
        return v
    }
    func objects(_ k: String) throws -> [[String: Any]] {
        guard let v = obj[k] as? [[String: Any]], !v.isEmpty else { throw error("no non-empty list of objects '\(prefix)\(k)'") }
        return v
    }
}

