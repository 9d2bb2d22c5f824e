import Evaluation
import LLM

/// Settings of `eval ppl`, and of the perplexity a prune run measures before and after.
public struct PerplexitySettings: Codable, Sendable, Equatable {
    public var dataset: PerplexityDataset
    public var `protocol`: PerplexityProtocol
    /// Window length in tokens; nil: the protocol's (2048 wanda, 128 llm-pruner).
    public var seqlen: Int?
    /// The first N windows; nil: all.
    public var windows: Int?
    /// Data folder; nil: $SECATEUR_DATA, else $SECATEUR_HOME/data. Resolved in the record.
    public var dataDirectory: String?
    /// Engine worker threads; nil: every core. Resolved in the record.
    public var threads: Int?
    /// Encoding the matrices run in (`WeightEncoding`); nil: float32 as loaded.
    public var weights: WeightEncoding?
    /// Whole windows per forward, or one token at a time (`PerplexityPass`); nil: prefill.
    public var pass: PerplexityPass?
    /// Blocks streamed from the checkpoint one at a time (layer-major over all windows); nil: in memory.
    public var stream: Bool?
    /// Bytes the run may use; its memory plan above this is refused before any work. nil: what the
    /// machine has less a margin (`MemoryBudget.default`).
    public var memoryBudget: Int?

    public init(dataset: PerplexityDataset = .wikitext2, protocol proto: PerplexityProtocol = .wanda, seqlen: Int? = nil,
                windows: Int? = nil, dataDirectory: String? = nil, threads: Int? = nil) {
        self.dataset = dataset; self.protocol = proto; self.seqlen = seqlen; self.windows = windows
        self.dataDirectory = dataDirectory; self.threads = threads
    }

    public var resolvedSeqlen: Int { seqlen ?? `protocol`.defaultSeqlen }

    enum CodingKeys: String, CodingKey {
        case dataset, `protocol`, seqlen, windows, dataDirectory = "data_dir", threads, weights, pass, stream
        case memoryBudget = "memory_budget"
    }
}
