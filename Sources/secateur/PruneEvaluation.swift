import Evaluation
import LLM
import ModelIO

/// `prune --eval`: the same perplexity windows (Wanda's protocol, 2048 tokens) scored before and
/// after pruning. Built before pruning starts, so a missing dataset fails before minutes of work.
struct PruneEvaluation {
    let dataset: String
    let windows: [[Int32]]
    let modelName: String

    init(dataset: String, limit: Int, loaded: LoadedModel, data: DataDirectory) throws {
        let text = try PerplexityCorpus.text(dataset: dataset, protocol: .wanda, data: data)
        self.dataset = dataset
        windows = try Perplexity.windows(tokens: loaded.tokenizer.encode(text), seqlen: 2048, limit: limit, dataset: dataset)
        modelName = loaded.name
    }

    /// Perplexity of `model` on the windows, with a progress line labelled `label` ("dense", "pruned").
    func perplexity(of model: LanguageModel, label: String) throws -> Double {
        var bar = ProgressLine(label: "\(label) ppl windows", unitsPerStep: 2048)
        return try Perplexity.evaluate(model: model, modelName: modelName, dataset: dataset, protocol: .wanda,
                                       windows: windows) { bar.update(done: $0, total: $1, seconds: $2) }.ppl
    }
}
