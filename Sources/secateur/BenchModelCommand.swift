import ArgumentParser
import Compute
import Evaluation
import Experiments
import Foundation
import LLM

struct BenchModel: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "model",
        abstract: "Parameters, MACs, memory, prefill/decode speed and energy of a model.")

    @OptionGroup var options: ModelOptions
    @Option(help: "Prompt tokens prefilled (also the MAC count's sequence length).") var promptLength: Int = 128
    @Option(help: "Tokens decoded one at a time after the prompt (batch 1, KV cache).") var decodeTokens: Int = 64
    @Option(help: "Timed repetitions (median, min and max are reported).") var repetitions: Int = 5
    @Option(help: "Untimed warm-up rounds.") var warmup: Int = 1
    @Option(help: "Storage of the decoder matrices (nm: packed N:M).") var sparseFormat: SparseFormat = .auto
    @Option(help: "Encoding of the matrices left dense and of the LM head: f32, f16, bf16, q8_0, q4_0, or native (as the model file stores them).", transform: WeightEncoding.parseArgument)
    var weights: WeightEncoding = .f32
    @Option(help: "Watts per busy core for the energy estimate when RAPL counters are unreadable.")
    var cpuWatts: Double = EnergyMeter.defaultCPUWatts
    @Option(help: "Grid carbon intensity in g CO2/kWh (default: world average).")
    var gridIntensity: Double = CarbonEstimate.defaultGramsPerKWh
    @Option(help: "Seed of the random prompt tokens.") var seed: UInt64 = 0
    @Flag(help: "Print the run record as one JSON object on stdout.") var json = false

    func validate() throws {
        guard promptLength >= 1, decodeTokens >= 1, repetitions >= 1, warmup >= 0 else {
            throw ValidationError("--prompt-length, --decode-tokens and --repetitions must be at least 1, --warmup at least 0")
        }
        guard cpuWatts > 0 else { throw ValidationError("--cpu-watts must be positive") }
        guard gridIntensity >= 0 else { throw ValidationError("--grid-intensity must not be negative") }
    }

    func run() throws {
        var s = EfficiencyRunSettings()
        s.promptLength = promptLength; s.decodeTokens = decodeTokens
        s.repetitions = repetitions; s.warmup = warmup; s.sparseFormat = sparseFormat
        s.weights = weights == .f32 ? nil : weights
        s.cpuWatts = cpuWatts; s.gridIntensity = gridIntensity; s.seed = seed; s.threads = options.threads
        let record = try EfficiencyRun(settings: s).run(modelSpec: options.model, progress: ProgressPrinter().handler)
        if json { return try Terminal.printRecord(record) }
        guard case .benchModel(let r) = record.result else { return }
        print(Self.table(r, model: options.model))
    }

    static func table(_ r: EfficiencyReport, model: String) -> String {
        func mb(_ b: Int) -> String { String(format: "%.1f MB", Double(b) / 1e6) }
        func rate(_ m: Double, _ lo: Double, _ hi: Double) -> String {
            String(format: "%.1f tok/s (min %.1f, max %.1f)", m, lo, hi)
        }
        let b = r.weightsBytesByFormat
        var lines = [
            "model                \(model)",
            String(format: "parameters           %d total, %d non-zero (%.1f %%)", r.paramsTotal, r.paramsNonzero,
                   100 * Double(r.paramsNonzero) / Double(max(1, r.paramsTotal))),
        ]
        for m in r.paramsPerModule {
            lines.append("  " + m.name.padding(toLength: 19, withPad: " ", startingAt: 0)
                         + String(format: "%11d total %11d non-zero", m.total, m.nonzero))
        }
        lines += [
            String(format: "MACs per token       %.3f G (non-zero %.3f G), sequence of %d: %.2f G",
                   r.macsPerToken / 1e9, r.macsPerTokenNonzero / 1e9, r.promptLength, Double(r.macsPerSequence) / 1e9),
            "weights              \(mb(r.weightsBytes)) as run (\(r.sparseFormat): \(r.storage.keys.sorted().map { "\($0) \(r.storage[$0]!)" }.joined(separator: ", ")))"
                + (r.weightStorage.map { w in "; values \(r.weights ?? "f32"): " + w.keys.sorted().map { "\($0) \(w[$0]!)" }.joined(separator: ", ") } ?? ""),
            "  by format          f32 \(mb(b.denseF32)), f16 \(mb(b.denseF16)), CSR \(mb(b.csr)), bitmap \(b.bitmap.map(mb) ?? "n/a"), N:M \(b.packedNM.map(mb) ?? "n/a (not N:M)")",
            "KV cache             \(mb(r.kvCacheBytes)) for \(r.kvCacheContext) positions",
            "resident memory      peak \(mb(r.peakRSSBytes)) (loading included), \(r.rssBytes.map(mb) ?? "n/a") after the run",
            "prefill (\(r.promptLength) tokens)".padding(toLength: 21, withPad: " ", startingAt: 0) + rate(r.prefillTokensPerSecond, r.prefillTokensPerSecondMin, r.prefillTokensPerSecondMax),
            "decode (batch 1)     " + rate(r.decodeTokensPerSecond, r.decodeTokensPerSecondMin, r.decodeTokensPerSecondMax),
        ]
        if let bytes = r.decodeBytesPerToken {
            var line = String(format: "decode traffic       %.1f MB per token", Double(bytes) / 1e6)
            if let bw = r.memoryReadGBps, let bound = r.decodeBoundTokensPerSecond, let f = r.decodeFractionOfBound {
                line += String(format: "; memory reads %.1f GB/s → bound %.1f tok/s; decode at %.0f %% of it", bw, bound, 100 * f)
            }
            lines.append(line)
        }
        lines += [
            String(format: "energy               %.3f J per decoded token, %.4f J per prefill token (%@%@)",
                   r.energyJoulesPerToken, r.prefillEnergyJoulesPerToken, r.energySource as NSString,
                   r.cpuWattsPerCore.map { String(format: ": CPU time × %.1f W per core", $0) } as NSString? ?? ""),
            String(format: "CO2                  %.2e g per decoded token at %.0f g/kWh", r.co2GramsPerToken, r.gridIntensityGramsPerKWh),
        ]
        return lines.joined(separator: "\n")
    }
}
