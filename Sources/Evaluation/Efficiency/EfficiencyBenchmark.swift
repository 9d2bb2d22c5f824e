import Compute
import Foundation
import LLM

/// Settings of `EfficiencyBenchmark.run`.
public struct EfficiencySettings: Sendable {
    public var promptLength = 128
    public var decodeTokens = 64
    public var repetitions = 5
    public var warmup = 1
    public var sparseFormat = SparseFormat.dense
    /// Encoding of the matrices still dense after `sparseFormat`, and of the LM head.
    public var weights = WeightEncoding.f32
    /// Measure the memory bandwidth too, to state decode as a fraction of its bound.
    public var measureBandwidth = true
    public var cpuWatts = EnergyMeter.defaultCPUWatts
    public var gridIntensity = CarbonEstimate.defaultGramsPerKWh
    public var seed: UInt64 = 0
    public init() {}
}

/// Everything `secateur bench model` reports (JSON keys are the snake_case names).
public struct EfficiencyReport: Codable, Sendable {
    public var paramsTotal: Int
    public var paramsNonzero: Int
    public var paramsPerModule: [ParameterCounts.Module]
    public var macsPerToken: Double
    public var macsPerTokenNonzero: Double
    public var macsPerSequence: Int
    public var macsLinearPerToken: Int
    public var macsConvention: String
    public var weightsBytes: Int
    public var weightsBytesByFormat: WeightBytes
    public var sparseFormat: String
    public var storage: [String: Int]
    // The fields below are optional so records written before them still decode.
    public var weights: String?
    /// Matrices (LM head included) per value encoding, after `weights`.
    public var weightStorage: [String: Int]?
    /// Bytes read from memory per decoded token (`DecodeTraffic`).
    public var decodeBytesPerToken: Int?
    /// This machine's read bandwidth (`MemoryBandwidth`), GB/s; nil when not measured.
    public var memoryReadGBps: Double?
    /// Read bandwidth ÷ bytes per token: the fastest decode the memory allows.
    public var decodeBoundTokensPerSecond: Double?
    /// Median decode speed as a fraction of that bound.
    public var decodeFractionOfBound: Double?
    public var kvCacheBytes: Int
    public var kvCacheContext: Int
    public var peakRSSBytes: Int
    public var rssBytes: Int?
    public var promptLength: Int
    public var decodeTokens: Int
    public var repetitions: Int
    public var prefillTokensPerSecond: Double
    public var prefillTokensPerSecondMin: Double
    public var prefillTokensPerSecondMax: Double
    public var decodeTokensPerSecond: Double
    public var decodeTokensPerSecondMin: Double
    public var decodeTokensPerSecondMax: Double
    public var energyJoulesPerToken: Double
    public var prefillEnergyJoulesPerToken: Double
    public var energySource: String
    public var cpuWattsPerCore: Double?
    public var gridIntensityGramsPerKWh: Double
    public var co2GramsPerToken: Double
    public var threads: Int

    enum CodingKeys: String, CodingKey {
        case paramsTotal = "params_total", paramsNonzero = "params_nonzero", paramsPerModule = "params_per_module"
        case macsPerToken = "macs_per_token", macsPerTokenNonzero = "macs_per_token_nonzero"
        case macsPerSequence = "macs_per_sequence", macsLinearPerToken = "macs_linear_per_token"
        case macsConvention = "macs_convention"
        case weightsBytes = "weights_bytes", weightsBytesByFormat = "weights_bytes_by_format"
        case sparseFormat = "sparse_format", storage, weights, weightStorage = "weight_storage"
        case decodeBytesPerToken = "decode_bytes_per_token", memoryReadGBps = "memory_read_gb_per_s"
        case decodeBoundTokensPerSecond = "decode_bound_tokens_per_second", decodeFractionOfBound = "decode_fraction_of_bound"
        case kvCacheBytes = "kv_cache_bytes", kvCacheContext = "kv_cache_context", peakRSSBytes = "peak_rss_bytes", rssBytes = "rss_bytes"
        case promptLength = "prompt_length", decodeTokens = "decode_tokens", repetitions
        case prefillTokensPerSecond = "prefill_tokens_per_second"
        case prefillTokensPerSecondMin = "prefill_tokens_per_second_min"
        case prefillTokensPerSecondMax = "prefill_tokens_per_second_max"
        case decodeTokensPerSecond = "decode_tokens_per_second"
        case decodeTokensPerSecondMin = "decode_tokens_per_second_min"
        case decodeTokensPerSecondMax = "decode_tokens_per_second_max"
        case energyJoulesPerToken = "energy_joules_per_token"
        case prefillEnergyJoulesPerToken = "prefill_energy_joules_per_token"
        case energySource = "energy_source", cpuWattsPerCore = "cpu_watts_per_core"
        case gridIntensityGramsPerKWh = "grid_intensity_g_per_kwh", co2GramsPerToken = "co2_grams_per_token"
        case threads
    }
}

/// Counts, memory, speed and energy of a model on this machine.
///
/// Speed: the prompt (`promptLength` seeded-random token ids) is prefilled into a fresh KV
/// cache, then `decodeTokens` tokens are decoded one at a time (batch 1, greedy, each step
/// fed the previous argmax). `warmup` untimed rounds, then `repetitions` timed ones; the
/// median tokens/s is reported with min and max. Energy is metered over the timed rounds,
/// separately for prefill and decode; `energy_joules_per_token` is per decoded token.
public enum EfficiencyBenchmark {
    /// `useWeights` converts the matrices to `settings.weights` (a loaded model's own, which
    /// knows its file for `native`); by default the model's `useWeights(_: BlockEncoding)`.
    public static func run(model: LanguageModel, settings s: EfficiencySettings,
                           useWeights: ((WeightEncoding) throws -> WeightConversionSummary)? = nil,
                           progress: (String) -> Void = { _ in }) throws -> EfficiencyReport {
        guard s.promptLength >= 1, s.decodeTokens >= 1, s.repetitions >= 1, s.warmup >= 0 else {
            throw EfficiencyError.invalidSetting("prompt length, decode tokens and repetitions must be ≥ 1, warm-up ≥ 0")
        }
        guard s.cpuWatts > 0, s.gridIntensity >= 0 else {
            throw EfficiencyError.invalidSetting("cpu watts must be > 0 and grid intensity ≥ 0")
        }
        // Counts first, on whatever storage the model has (they do not depend on it).
        let params = ParameterCounts(model: model)
        let macs = MACCount(model: model, sequenceLength: s.promptLength)
        let bytes = WeightBytes(model: model)
        // No progress line before the conversion: if it fails, its error is all a user sees.
        let summary = try model.useSparseFormat(s.sparseFormat)
        let encoded = try (useWeights ?? { w in
            guard let e = w.blockEncoding else { throw EfficiencyError.invalidSetting("native weights need the model's file; load it by name") }
            return try model.useWeights(e)
        })(s.weights)
        progress("decoder matrices: \(summary.description); values: \(encoded.description)")
        let current = WeightBytes(model: model).current
        let traffic = DecodeTraffic.bytesPerToken(model, promptLength: s.promptLength, decodeTokens: s.decodeTokens)
        let bandwidth = s.measureBandwidth ? MemoryBandwidth.measure(arrayBytes: 128 << 20, repetitions: 3) : nil

        var rng = SeededRNG(seed: s.seed)
        let prompt = (0..<s.promptLength).map { _ in Int32(rng.next() % UInt64(model.vocabSize)) }
        let context = s.promptLength + s.decodeTokens
        let cache = model.makeCache(capacity: context)

        var prefillRates: [Double] = [], decodeRates: [Double] = []
        var prefillJoules = 0.0, decodeJoules = 0.0
        var meter = EnergyMeter(cpuWatts: s.cpuWatts)
        for round in 0..<(s.warmup + s.repetitions) {
            let timed = round >= s.warmup
            progress(timed ? "repetition \(round - s.warmup + 1)/\(s.repetitions)" : "warm-up \(round + 1)/\(s.warmup)")
            cache.reset()
            meter.start()
            var t0 = DispatchTime.now().uptimeNanoseconds
            var logits = try model.lastLogits(prompt, cache: cache)
            var t1 = DispatchTime.now().uptimeNanoseconds
            if timed {
                prefillJoules += meter.stop()
                prefillRates.append(Double(s.promptLength) / (Double(t1 - t0) / 1e9))
            }
            meter.start()
            t0 = DispatchTime.now().uptimeNanoseconds
            for _ in 0..<s.decodeTokens {
                logits = try model.lastLogits([argmax(logits)], cache: cache)
            }
            t1 = DispatchTime.now().uptimeNanoseconds
            if timed {
                decodeJoules += meter.stop()
                decodeRates.append(Double(s.decodeTokens) / (Double(t1 - t0) / 1e9))
            }
        }
        let prefill = RepeatedTiming(samples: prefillRates), decode = RepeatedTiming(samples: decodeRates)
        let perDecoded = decodeJoules / Double(s.decodeTokens * s.repetitions)
        return EfficiencyReport(
            paramsTotal: params.total, paramsNonzero: params.nonzero, paramsPerModule: params.modules,
            macsPerToken: macs.perToken, macsPerTokenNonzero: macs.nonzeroPerToken,
            macsPerSequence: macs.perSequence, macsLinearPerToken: macs.linearPerToken,
            macsConvention: "1 MAC = 1 multiply-add; linear layers (LM head included) + QK^T and PV over causal pairs T(T+1)/2, T = prompt length; per token = per sequence / T",
            weightsBytes: current, weightsBytesByFormat: bytes,
            sparseFormat: s.sparseFormat.rawValue, storage: summary.matrices,
            weights: s.weights.rawValue, weightStorage: encoded.matrices, decodeBytesPerToken: traffic,
            memoryReadGBps: bandwidth?.readGBps,
            decodeBoundTokensPerSecond: bandwidth.map { $0.readGBps * 1e9 / Double(traffic) },
            decodeFractionOfBound: bandwidth.map { decode.median / ($0.readGBps * 1e9 / Double(traffic)) },
            kvCacheBytes: KVCacheBytes.of(model, context: context), kvCacheContext: context,
            peakRSSBytes: ProcessMemory.peakResidentBytes() ?? 0, rssBytes: ProcessMemory.residentBytes(),
            promptLength: s.promptLength, decodeTokens: s.decodeTokens, repetitions: s.repetitions,
            prefillTokensPerSecond: prefill.median, prefillTokensPerSecondMin: prefill.min, prefillTokensPerSecondMax: prefill.max,
            decodeTokensPerSecond: decode.median, decodeTokensPerSecondMin: decode.min, decodeTokensPerSecondMax: decode.max,
            energyJoulesPerToken: perDecoded,
            prefillEnergyJoulesPerToken: prefillJoules / Double(s.promptLength * s.repetitions),
            energySource: meter.source.rawValue,
            cpuWattsPerCore: meter.source == .estimate ? s.cpuWatts : nil,
            gridIntensityGramsPerKWh: s.gridIntensity,
            co2GramsPerToken: CarbonEstimate.grams(joules: perDecoded, gramsPerKWh: s.gridIntensity),
            threads: Parallelism.threads)
    }

    private static func argmax(_ v: [Float]) -> Int32 {
        var best = 0
        for i in v.indices where v[i] > v[best] { best = i }
        return Int32(best)
    }
}
