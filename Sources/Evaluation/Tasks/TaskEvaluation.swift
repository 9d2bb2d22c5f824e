import Compute
import Foundation
import LLM
import ModelIO

/// One scored document (a line of `--log-samples`), comparable with lm-eval's samples by
/// (task, doc_id): lm-eval's `filtered_resps` are the [loglikelihood, is_greedy] pairs.
public struct TaskSample: Codable, Sendable {
    public let task: String
    public let doc_id: Int
    public let loglikelihoods: [Double]
    public let is_greedy: [Bool]
    public let pred: Int
    public let pred_norm: Int
    public let gold: Int
    public let acc: Double
    public let acc_norm: Double
}

/// A task's figures as lm-eval reports them: means and the standard error of the mean
/// (sample standard deviation / √n).
public struct TaskResult: Codable, Sendable {
    public let acc: Double
    public let acc_stderr: Double
    public let acc_norm: Double
    public let acc_norm_stderr: Double
    public let n: Int
    public let seconds: Double
    public let metric: TaskMetric

    /// The figure this task contributes to the average.
    public var reported: Double { metric == .acc ? acc : acc_norm }
}

public enum TaskMetrics {
    /// Index of the first maximum (numpy argmax).
    public static func argmax(_ v: [Double]) -> Int {
        var best = 0
        for i in 1..<v.count where v[i] > v[best] { best = i }
        return best
    }

    /// acc prediction and acc_norm prediction (loglikelihood / character length of the choice).
    public static func predictions(loglikelihoods ll: [Double], choices: [String]) -> (acc: Int, accNorm: Int) {
        let normed = zip(ll, choices).map { $0 / Double($1.unicodeScalars.count) }
        return (argmax(ll), argmax(normed))
    }

    /// lm-eval's `mean_stderr`: sqrt(Σ(x − mean)² / (n − 1)) / √n.
    public static func meanStderr(_ xs: [Double]) -> Double {
        let n = Double(xs.count)
        guard xs.count > 1 else { return .nan }
        let mean = xs.reduce(0, +) / n
        let variance = xs.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / (n - 1)
        return (variance / n).squareRoot()
    }
}

public enum TaskEvaluation {
    /// Scores `docs` and aggregates them. `progress(done, total, seconds)` after each batch of
    /// `batchSize` documents (packed into forwards of at most `rowsPerForward` token rows);
    /// `sample` receives each scored document in order.
    public static func evaluate(task: ZeroShotTask, documents docs: [TaskDocument], model: LanguageModel, tokenizer: Tokenizer,
                                batchSize: Int = 32, maxLength: Int = 2048, rowsPerForward: Int = 4096,
                                progress: (Int, Int, Double) -> Void = { _, _, _ in },
                                sample: (TaskSample) throws -> Void = { _ in }) throws -> TaskResult {
        let start = Date()
        let b = max(1, min(batchSize, docs.count))
        let scorer = LoglikelihoodScorer(model: model, tokenizer: tokenizer, maxLength: maxLength, rowsPerForward: rowsPerForward)
        var accs: [Double] = [], norms: [Double] = []
        var k = 0
        while k < docs.count {
            let chunk = Array(docs[k..<min(k + b, docs.count)])
            let results = try scorer.score(documents: chunk.map(\.requests))
            for (doc, scores) in zip(chunk, results) {
                let ll = scores.map(\.loglikelihood)
                let (p, pn) = TaskMetrics.predictions(loglikelihoods: ll, choices: doc.choices)
                let a = p == doc.gold ? 1.0 : 0.0, an = pn == doc.gold ? 1.0 : 0.0
                accs.append(a); norms.append(an)
                try sample(TaskSample(task: task.rawValue, doc_id: doc.index, loglikelihoods: ll, is_greedy: scores.map(\.isGreedy),
                                      pred: p, pred_norm: pn, gold: doc.gold, acc: a, acc_norm: an))
            }
            k += chunk.count
            progress(k, docs.count, Date().timeIntervalSince(start))
        }
        let n = Double(max(docs.count, 1))
        return TaskResult(acc: accs.reduce(0, +) / n, acc_stderr: TaskMetrics.meanStderr(accs),
                          acc_norm: norms.reduce(0, +) / n, acc_norm_stderr: TaskMetrics.meanStderr(norms),
                          n: docs.count, seconds: Date().timeIntervalSince(start), metric: task.reportedMetric)
    }

    /// Parses "boolq,hellaswag,..." (or "all") into tasks, refusing unknown names.
    public static func parseTasks(_ list: String) throws -> [ZeroShotTask] {
        if list == "all" { return ZeroShotTask.allCases }
        return try list.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }.map {
            guard let t = ZeroShotTask(rawValue: $0) else {
                throw DatasetError.unknownDataset($0, supported: ZeroShotTask.names)
            }
            return t
        }
    }

    /// Mean of each task's reported metric.
    public static func average(_ results: [TaskResult]) -> Double {
        results.isEmpty ? .nan : results.map(\.reported).reduce(0, +) / Double(results.count)
    }
}
