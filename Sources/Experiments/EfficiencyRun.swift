import Evaluation
import LLM

/// Settings of `bench model`.
public struct EfficiencyRunSettings: Codable, Sendable, Equatable {
    public var promptLength = 128
    public var decodeTokens = 64
    public var repetitions = 5
    public var warmup = 1
    /// Storage of the decoder matrices while timing.
    public var sparseFormat: SparseFormat = .auto
    /// Encoding of the matrices left dense, and of the LM head, while timing; nil: f32 (left
    /// out of the JSON then, so records and study keys from before the option stay the same).
    public var weights: WeightEncoding?
    public var cpuWatts = EnergyMeter.defaultCPUWatts
    public var gridIntensity = CarbonEstimate.defaultGramsPerKWh
    public var seed: UInt64 = 0
    public var threads: Int?

    public init() {}

    var benchmark: EfficiencySettings {
        var s = EfficiencySettings()
        s.promptLength = promptLength; s.decodeTokens = decodeTokens
        s.repetitions = repetitions; s.warmup = warmup
        s.sparseFormat = sparseFormat; s.weights = weights ?? .f32
        s.cpuWatts = cpuWatts; s.gridIntensity = gridIntensity; s.seed = seed
        return s
    }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case promptLength = "prompt_length", decodeTokens = "decode_tokens", repetitions, warmup
        case sparseFormat = "sparse_format", weights, cpuWatts = "cpu_watts", gridIntensity = "grid_intensity_g_per_kwh", seed, threads
    }
}

/// `secateur bench model`: parameters, MACs, memory, prefill/decode speed and energy.
public struct EfficiencyRun {
    public var settings: EfficiencyRunSettings

    public init(settings: EfficiencyRunSettings) { self.settings = settings }

    public func run(modelSpec: String, progress: RunProgressHandler = { _ in }) throws -> RunRecord {
        var context = RunContext(threads: settings.threads)
        return try withEngineThreads(context.threads) {
            let (loaded, identity) = try context.load(modelSpec)
            return try measure(loaded, identity: identity, context: &context, progress: progress)
        }
    }

    /// Measures an already loaded model (its decoder matrices are converted to the chosen storage).
    public func run(model loaded: LoadedModel, progress: RunProgressHandler = { _ in }) throws -> RunRecord {
        var context = RunContext(threads: settings.threads)
        return try withEngineThreads(context.threads) {
            let identity = try context.identify(loaded)
            return try measure(loaded, identity: identity, context: &context, progress: progress)
        }
    }

    private func measure(_ loaded: LoadedModel, identity: ModelIdentity, context: inout RunContext,
                         progress: RunProgressHandler) throws -> RunRecord {
        let report = try context.clock.measure("benchmark") {
            try EfficiencyBenchmark.run(model: loaded.model, settings: settings.benchmark, useWeights: loaded.useWeights) {
                progress(.note($0))
            }
        }
        var resolved = settings
        resolved.threads = context.threads
        return context.record(model: identity, settings: .benchModel(resolved), result: .benchModel(report))
    }
}
