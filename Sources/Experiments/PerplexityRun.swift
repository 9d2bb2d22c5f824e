import Evaluation
import LLM

/// What `eval ppl` measured beyond the metric itself: throughput and per-window losses.
public struct PerplexityRunResult: Codable, Sendable, Equatable {
    public var dataset: String
    public var `protocol`: String
    public var seqlen: Int
    public var windows: Int
    /// Tokens scored (windows × seqlen) and in the whole text.
    public var tokens: Int
    public var textTokens: Int
    public var ppl: Double
    public var nllPerWindow: [Double]
    public var seconds: Double
    public var tokensPerSecond: Double
    public var flopsPerToken: Double
    public var gflopsPerSecond: Double

    public init(_ r: PerplexityResult, textTokens: Int) {
        dataset = r.dataset; self.protocol = r.protocol; seqlen = r.seqlen; windows = r.windows; tokens = r.tokens
        self.textTokens = textTokens; ppl = r.ppl; nllPerWindow = r.nllPerWindow; seconds = r.seconds
        tokensPerSecond = r.tokensPerSecond; flopsPerToken = r.flopsPerToken; gflopsPerSecond = r.gflopsPerSecond
    }

    enum CodingKeys: String, CodingKey {
        case dataset, `protocol`, seqlen, windows, tokens, textTokens = "text_tokens", ppl
        case nllPerWindow = "nll_per_window", seconds, tokensPerSecond = "tokens_per_second"
        case flopsPerToken = "flops_per_token", gflopsPerSecond = "gflops_per_second"
    }
}

/// `secateur eval ppl`: perplexity of a model on one dataset under one protocol.
public struct PerplexityRun {
    public var settings: PerplexitySettings

    public init(settings: PerplexitySettings) { self.settings = settings }

    /// Reads the dataset first (a missing file is reported before the model is loaded), then loads and measures.
    public func run(modelSpec: String, progress: RunProgressHandler = { _ in }) throws -> RunRecord {
        if settings.stream == true && settings.weights != nil { throw StreamSettingError.withWeights }
        var context = RunContext(threads: settings.threads)
        let data = DataDirectory(explicit: settings.dataDirectory)
        return try withEngineThreads(context.threads) {
            let text = try context.clock.measure("dataset") {
                try PerplexityCorpus.text(dataset: settings.dataset.rawValue, protocol: settings.protocol, data: data)
            }
            // Before loading, the window count from the text's length (about 3 bytes a token, an overestimate for
            // English BPE). A text too short for one window skips this check: tokenizing refuses it
            // with the counts; the plan is checked again then.
            let shape = try ModelLoader.shape(modelSpec)
            let guess = text.utf8.count / (3 * settings.resolvedSeqlen)
            if guess > 0 {
                try context.plan(MemoryPlan.perplexity(shape, settings: settings, windows: guess),
                                 budget: settings.memoryBudget, advice: advice)
            }
            let (loaded, identity) = try context.load(modelSpec, streamBlocks: settings.stream == true)
            return try measure(text: text, loaded: loaded, shape: shape, identity: identity, data: data, context: &context,
                               progress: progress)
        }
    }

    public func run(model loaded: LoadedModel, progress: RunProgressHandler = { _ in }) throws -> RunRecord {
        var context = RunContext(threads: settings.threads)
        let data = DataDirectory(explicit: settings.dataDirectory)
        return try withEngineThreads(context.threads) {
            let text = try context.clock.measure("dataset") {
                try PerplexityCorpus.text(dataset: settings.dataset.rawValue, protocol: settings.protocol, data: data)
            }
            let identity = try context.identify(loaded)
            return try measure(text: text, loaded: loaded, shape: ModelShape(model: loaded.model), identity: identity, data: data,
                               context: &context, progress: progress)
        }
    }

    /// What to change when the plan does not fit.
    private var advice: String {
        settings.stream == true ? "use fewer windows (streaming holds every window's hidden state at each block)"
            : "stream the blocks from the checkpoint (one block in memory at a time)"
    }

    private func measure(text: String, loaded: LoadedModel, shape: ModelShape, identity: ModelIdentity, data: DataDirectory,
                         context: inout RunContext, progress: RunProgressHandler) throws -> RunRecord {
        let seqlen = settings.resolvedSeqlen
        let evaluation = try context.clock.measure("tokenize") {
            try PerplexityEvaluation(text: text, dataset: settings.dataset, protocol: settings.protocol, seqlen: seqlen,
                                     windows: settings.windows, tokenizer: loaded.tokenizer, modelName: loaded.name)
        }
        progress(.note("\(loaded.name): \(settings.dataset.rawValue) (\(settings.protocol.rawValue) protocol), "
                       + "\(evaluation.textTokens) tokens, \(evaluation.windowCount) windows of \(seqlen)"))
        try context.plan(MemoryPlan.perplexity(shape, settings: settings, windows: evaluation.windowCount),
                         budget: settings.memoryBudget, advice: advice)
        context.notePlan(progress)
        if let w = settings.weights {
            let summary = try loaded.useWeights(w)
            progress(.note("weights \(w.rawValue): \(summary.description)"))
        }
        let (metric, r) = try context.clock.measure("evaluate") {
            try evaluation.measure(loaded.model, stage: .dense, label: "windows", pass: settings.pass ?? .prefill,
                                   residency: loaded.residency, progress: progress)
        }
        var resolved = settings
        resolved.memoryBudget = context.memoryPlan?.budgetBytes
        resolved.seqlen = seqlen
        resolved.windows = evaluation.windowCount
        resolved.dataDirectory = data.url.path
        resolved.threads = context.threads
        return context.record(model: identity, settings: .evalPerplexity(resolved), metrics: RunMetrics(perplexity: [metric]),
                              result: .evalPerplexity(PerplexityRunResult(r, textTokens: evaluation.textTokens)))
    }
}
