import Evaluation
import LLM
import ModelIO

/// One perplexity measurement set up once and applied to a model, possibly several times (a
/// prune run scores the same windows dense and pruned). Built before any pruning starts, so
/// a missing dataset fails before minutes of work.
public struct PerplexityEvaluation {
    public let dataset: PerplexityDataset
    public let `protocol`: PerplexityProtocol
    public let seqlen: Int
    /// Tokens in the whole evaluation text (before cutting into windows).
    public let textTokens: Int
    let windows: [[Int32]]
    let modelName: String

    public init(dataset: PerplexityDataset, protocol proto: PerplexityProtocol, seqlen: Int, windows limit: Int?,
                tokenizer: Tokenizer, modelName: String, data: DataDirectory) throws {
        try self.init(text: try PerplexityCorpus.text(dataset: dataset.rawValue, protocol: proto, data: data), dataset: dataset,
                      protocol: proto, seqlen: seqlen, windows: limit, tokenizer: tokenizer, modelName: modelName)
    }

    /// From the evaluation text already read (`PerplexityCorpus.text`): `eval ppl` reads it before
    /// loading the model, so a missing dataset is reported first.
    public init(text: String, dataset: PerplexityDataset, protocol proto: PerplexityProtocol, seqlen: Int, windows limit: Int?,
                tokenizer: Tokenizer, modelName: String) throws {
        let tokens = tokenizer.encode(text)
        self.dataset = dataset; self.protocol = proto; self.seqlen = seqlen; self.modelName = modelName
        textTokens = tokens.count
        windows = try Perplexity.windows(tokens: tokens, seqlen: seqlen, limit: limit, dataset: dataset.rawValue)
    }

    public var windowCount: Int { windows.count }

    /// Perplexity of `model` on the windows, labelled with the stage it was measured at;
    /// progress is reported as steps of `label`.
    public func measure(_ model: LanguageModel, stage: MetricStage, label: String, pass: PerplexityPass = .prefill,
                        residency: LayerResidency? = nil,
                        progress: RunProgressHandler) throws -> (metric: PerplexityMetric, result: PerplexityResult) {
        let r = try withoutActuallyEscaping(progress) { report in
            try Perplexity.evaluate(model: model, modelName: modelName, dataset: dataset.rawValue, protocol: `protocol`,
                                    windows: windows, pass: pass, residency: residency) { [seqlen, windows] done, total, seconds in
                if residency != nil {
                    report(.steps(label: label + " (\(windows.count) windows, block by block)", done: done, total: total, seconds: seconds,
                                  unitsPerStep: 1, unit: "block"))
                } else {
                    report(.steps(label: label, done: done, total: total, seconds: seconds, unitsPerStep: seqlen, unit: "tok"))
                }
            }
        }
        let metric = PerplexityMetric(dataset: dataset.rawValue, protocol: `protocol`.rawValue, seqlen: r.seqlen,
                                      windows: r.windows, value: r.ppl, stage: stage)
        return (metric, r)
    }
}
