import Compute
import Foundation
import LLM
import ModelIO

/// One scored document (a line of `--log-samples`), comparable with lm-eval's samples by
/// (task, doc_id): lm-eval's `filtered_resps` are the [loglikelihood, is_greedy] pairs. Fields a
/// task does not define are absent: pred_norm/acc_norm outside the zero-shot multiple-choice
/// tasks, pred/gold for LAMBADA and MC2 (MC2 carries its labels instead).
public struct TaskSample: Codable, Sendable {
    public let task: String
    public let doc_id: Int
    public let loglikelihoods: [Double]
    public let is_greedy: [Bool]
    public let pred: Int?
    public let pred_norm: Int?
    public let gold: Int?
    public let labels: [Int]?
    public let acc: Double
    public let acc_norm: Double?
}

/// A task's figures as lm-eval reports them: means and the standard error of the mean
/// (sample standard deviation / √n); acc_norm only for the zero-shot multiple-choice tasks,
/// perplexity only for LAMBADA (lm-eval's `perplexity` aggregation, exp(−mean loglikelihood);
/// lm-eval's bootstrap stderr of it is not reproduced).
public struct TaskResult: Codable, Sendable {
    public let acc: Double
    public let acc_stderr: Double
    public let acc_norm: Double?
    public let acc_norm_stderr: Double?
    public let perplexity: Double?
    public let n: Int
    public let seconds: Double
    public let metric: TaskMetric

    /// The figure this task contributes to the average.
    public var reported: Double { metric == .acc ? acc : acc_norm ?? .nan }
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

    /// lm-eval's `perplexity` aggregation: exp(−mean(loglikelihoods)), over documents.
    public static func perplexity(_ loglikelihoods: [Double]) -> Double {
        loglikelihoods.isEmpty ? .nan : Foundation.exp(-loglikelihoods.reduce(0, +) / Double(loglikelihoods.count))
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
    /// One document's figures under its task's metrics (lm-eval's `process_results`).
    struct Outcome {
        var acc: Double
        var accNorm: Double?
        var pred: Int?
        var predNorm: Int?
        /// The loglikelihood that enters LAMBADA's perplexity.
        var perplexityTerm: Double?
    }

    static func outcome(_ task: EvalTask, _ doc: TaskDocument, _ scores: [ContinuationScore]) -> Outcome {
        let ll = scores.map(\.loglikelihood)
        switch task {
        case .zeroShot:
            let (p, pn) = TaskMetrics.predictions(loglikelihoods: ll, choices: doc.choices)
            return Outcome(acc: p == doc.gold ? 1 : 0, accNorm: pn == doc.gold ? 1 : 0, pred: p, predNorm: pn)
        case .truthfulqaMC1:
            // multiple_choice with only `acc` in metric_list: argmax of the raw loglikelihoods.
            let p = TaskMetrics.argmax(ll)
            return Outcome(acc: p == doc.gold ? 1 : 0, pred: p)
        case .truthfulqaMC2:
            return Outcome(acc: TruthfulQA.mc2Score(loglikelihoods: ll, labels: doc.labels))
        case .lambadaOpenAI:
            // loglikelihood output: {"perplexity": ll, "acc": int(is_greedy)} of the one request.
            return Outcome(acc: scores[0].isGreedy ? 1 : 0, perplexityTerm: ll[0])
        }
    }

    /// Scores `docs` and aggregates them. `progress(done, total, seconds)` after each batch of
    /// `batchSize` documents (packed into forwards of at most `rowsPerForward` token rows);
    /// `sample` receives each scored document in order.
    public static func evaluate(task: EvalTask, documents docs: [TaskDocument], model: LanguageModel, tokenizer: Tokenizer,
                                batchSize: Int = 32, maxLength: Int = 2048, rowsPerForward: Int = 4096,
                                progress: (Int, Int, Double) -> Void = { _, _, _ in },
                                sample: (TaskSample) throws -> Void = { _ in }) throws -> TaskResult {
        let start = Date()
        let b = max(1, min(batchSize, docs.count))
        let scorer = LoglikelihoodScorer(model: model, tokenizer: tokenizer, maxLength: maxLength, rowsPerForward: rowsPerForward)
        var outcomes: [Outcome] = []
        var k = 0
        while k < docs.count {
            let chunk = Array(docs[k..<min(k + b, docs.count)])
            let results = try scorer.score(documents: chunk.map(\.requests))
            for (doc, scores) in zip(chunk, results) {
                let o = outcome(task, doc, scores)
                outcomes.append(o)
                let hasGold = task != .lambadaOpenAI && task != .truthfulqaMC2
                try sample(TaskSample(task: task.name, doc_id: doc.index, loglikelihoods: scores.map(\.loglikelihood),
                                      is_greedy: scores.map(\.isGreedy), pred: o.pred, pred_norm: o.predNorm,
                                      gold: hasGold ? doc.gold : nil, labels: doc.labels.isEmpty ? nil : doc.labels,
                                      acc: o.acc, acc_norm: o.accNorm))
            }
            k += chunk.count
            progress(k, docs.count, Date().timeIntervalSince(start))
        }
        return aggregate(task, outcomes, seconds: Date().timeIntervalSince(start))
    }

    static func aggregate(_ task: EvalTask, _ outcomes: [Outcome], seconds: Double) -> TaskResult {
        let n = Double(max(outcomes.count, 1))
        let accs = outcomes.map(\.acc)
        let norms = task.hasAccNorm ? outcomes.compactMap(\.accNorm) : nil
        let ppl = task.hasPerplexity ? TaskMetrics.perplexity(outcomes.compactMap(\.perplexityTerm)) : nil
        return TaskResult(acc: accs.reduce(0, +) / n, acc_stderr: TaskMetrics.meanStderr(accs),
                          acc_norm: norms.map { $0.reduce(0, +) / n }, acc_norm_stderr: norms.map(TaskMetrics.meanStderr),
                          perplexity: ppl, n: outcomes.count, seconds: seconds, metric: task.reportedMetric)
    }

    /// Mean of each task's reported metric.
    public static func average(_ results: [TaskResult]) -> Double {
        results.isEmpty ? .nan : results.map(\.reported).reduce(0, +) / Double(results.count)
    }
}
