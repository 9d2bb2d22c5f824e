import Evaluation
import LLM

/// The perplexity a prune run measures on the dense model and again on the pruned one.
public struct PruneEvaluationSettings: Codable, Sendable, Equatable {
    public var dataset: PerplexityDataset
    public var `protocol`: PerplexityProtocol
    /// Window length; nil: the protocol's.
    public var seqlen: Int?
    public var windows: Int

    public init(dataset: PerplexityDataset, protocol proto: PerplexityProtocol = .wanda, seqlen: Int? = nil, windows: Int = 16) {
        self.dataset = dataset; self.protocol = proto; self.seqlen = seqlen; self.windows = windows
    }

    enum CodingKeys: String, CodingKey, CaseIterable { case dataset, `protocol`, seqlen, windows }

    /// Tokenizes the text and cuts the windows (a missing dataset fails here, before pruning).
    func prepare(_ loaded: LoadedModel, data: DataDirectory) throws -> PerplexityEvaluation {
        try PerplexityEvaluation(dataset: dataset, protocol: `protocol`, seqlen: seqlen ?? `protocol`.defaultSeqlen,
                                 windows: windows, tokenizer: loaded.tokenizer, modelName: loaded.name, data: data)
    }

    var resolved: PruneEvaluationSettings {
        var r = self
        r.seqlen = seqlen ?? `protocol`.defaultSeqlen
        return r
    }
}
