import Foundation
import LLM

/// Settings of `generate`.
public struct GenerateSettings: Codable, Sendable, Equatable {
    public var prompt: String
    public var maxTokens = 64
    /// 0: greedy.
    public var temperature: Float = 0
    public var topP: Float = 0.95
    public var seed: UInt64 = 0
    public var threads: Int?
    /// Encoding the matrices run in (`WeightEncoding`); nil: float32 as loaded.
    public var weights: WeightEncoding?

    public init(prompt: String) { self.prompt = prompt }

    enum CodingKeys: String, CodingKey { case prompt, maxTokens = "max_tokens", temperature, topP = "top_p", seed, threads, weights }
}

/// What `generate` produced.
public struct GenerationResult: Codable, Sendable, Equatable {
    /// The continuation only (the prompt is in the settings).
    public var text: String
    public var tokens: Int
    public var seconds: Double
    public var tokensPerSecond: Double

    enum CodingKeys: String, CodingKey { case text, tokens, seconds, tokensPerSecond = "tokens_per_second" }
}

/// Why a generation request cannot be carried out.
public enum GenerationError: SettingError, Equatable {
    case exceedsContext(promptTokens: Int, maxTokens: Int, context: Int, model: String)
    case emptyPrompt

    public func description(namingSetting name: (String) -> String) -> String {
        switch self {
        case let .exceedsContext(p, m, c, model):
            return "the prompt (\(p) tokens) plus \(name("max_tokens")) \(m) exceeds the context length \(c) of \(model)"
        case .emptyPrompt:
            return "\(name("prompt")) is empty"
        }
    }
}

/// `secateur generate`: continue a prompt, greedy or with temperature / top-p sampling.
public struct GenerateRun {
    public var settings: GenerateSettings

    public init(settings: GenerateSettings) { self.settings = settings }

    /// Each piece of text is reported as `.text` as soon as its token is sampled.
    public func run(modelSpec: String, progress: RunProgressHandler = { _ in }) throws -> RunRecord {
        guard !settings.prompt.isEmpty else { throw GenerationError.emptyPrompt }
        var context = RunContext(threads: settings.threads)
        return try withEngineThreads(context.threads) {
            let (loaded, identity) = try context.load(modelSpec)
            return try generate(loaded, identity: identity, context: &context, progress: progress)
        }
    }

    public func run(model loaded: LoadedModel, progress: RunProgressHandler = { _ in }) throws -> RunRecord {
        guard !settings.prompt.isEmpty else { throw GenerationError.emptyPrompt }
        var context = RunContext(threads: settings.threads)
        return try withEngineThreads(context.threads) {
            let identity = try context.identify(loaded)
            return try generate(loaded, identity: identity, context: &context, progress: progress)
        }
    }

    private func generate(_ loaded: LoadedModel, identity: ModelIdentity, context: inout RunContext,
                          progress: RunProgressHandler) throws -> RunRecord {
        let s = settings
        let ids = loaded.tokenizer.encode(s.prompt)
        let window = loaded.model.maxPositions
        guard ids.count + s.maxTokens <= window else {
            throw GenerationError.exceedsContext(promptTokens: ids.count, maxTokens: s.maxTokens, context: window, model: loaded.name)
        }
        if let w = s.weights {
            let summary = try loaded.useWeights(w)
            progress(.note("weights \(w.rawValue): \(summary.description)"))
        }
        var sampler = Sampler(temperature: s.temperature, topP: s.topP, seed: s.seed)
        let stop: Set<Int32> = loaded.tokenizer.eosTokenID.map { [$0] } ?? []
        let start = Date()
        var produced: [Int32] = []
        var shown = ""
        let out = try context.clock.measure("generate") {
            try loaded.model.generate(prompt: ids, maxTokens: s.maxTokens, sampler: &sampler, stop: stop) { t in
                produced.append(t)
                // Decode everything so far and report what is new: safe for tokens that end inside a multi-byte character.
                let now = loaded.tokenizer.decode(produced)
                if now.hasPrefix(shown) && now.count > shown.count {
                    progress(.text(String(now.dropFirst(shown.count))))
                    shown = now
                }
            }
        }
        let secs = Date().timeIntervalSince(start)
        var resolved = s
        resolved.threads = context.threads
        return context.record(model: identity, settings: .generate(resolved),
                              result: .generate(GenerationResult(text: loaded.tokenizer.decode(out), tokens: out.count, seconds: secs,
                                                                 tokensPerSecond: Double(out.count) / max(secs, 1e-9))))
    }
}
