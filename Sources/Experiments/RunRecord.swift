import Foundation
import ModelIO

/// One run of one command, as `--json` prints it, pruning.json stores it and a results
/// database will keep it (DESIGN.md §10). Versioned: a reader refuses a schema it does not know
/// rather than misread it.
///
/// JSON layout: the envelope keys below, plus the command-specific result fields at the top
/// level beside them (`RunResult`; e.g. `ratio_actual` of a structured prune, `decode_tokens_per_second`
/// of `bench model`). No result field reuses an envelope key, except a structured prune's
/// `seconds_by_phase`, which is the envelope's (the pruner's phases merged into the run's).
public struct RunRecord: Sendable {
    public static let schemaVersion = 1

    public var schemaVersion: Int
    public var command: RunCommand { settings.command }
    /// The model as loaded, before the run changed it.
    public var model: ModelIdentity
    public var settings: RunSettings
    /// Wall-clock seconds per phase (load, hash, calibration, prune.*, eval_dense, save, ...).
    public var secondsByPhase: [String: Double]
    /// Wall-clock seconds of the whole run, loading included.
    public var secondsTotal: Double
    /// Peak resident memory of the process in MiB (2^20 bytes); nil where it cannot be read.
    public var peakRSSMegabytes: Double?
    /// The memory the run was estimated to need before it started (`MemoryPlan`), beside the
    /// measured peak; nil for commands that plan none.
    public var memoryPlan: MemoryPlan?
    public var metrics: RunMetrics
    public var environment: RunEnvironment
    public var result: RunResult

    public init(model: ModelIdentity, settings: RunSettings, secondsByPhase: [String: Double], secondsTotal: Double,
                peakRSSMegabytes: Double?, metrics: RunMetrics, environment: RunEnvironment, result: RunResult) {
        precondition(settings.command == result.command, "settings of \(settings.command) with a result of \(result.command)")
        schemaVersion = Self.schemaVersion
        self.model = model; self.settings = settings; self.secondsByPhase = secondsByPhase; self.secondsTotal = secondsTotal
        self.peakRSSMegabytes = peakRSSMegabytes; self.metrics = metrics; self.environment = environment; self.result = result
    }

    enum CodingKeys: String, CodingKey {
        case schemaVersion = "schema_version", command, model, settings, secondsByPhase = "seconds_by_phase"
        case secondsTotal = "seconds_total", peakRSSMegabytes = "peak_rss_mb", memoryPlan = "memory_plan", metrics, environment
    }

    // MARK: - JSON

    /// Sorted keys, pretty-printed (pruning.json, files a study collects).
    public func prettyJSON() throws -> Data { try encoded([.sortedKeys, .prettyPrinted]) }

    /// Sorted keys on one line (a command's `--json` on stdout: one object per line).
    public func compactJSON() throws -> Data { try encoded([.sortedKeys]) }

    private func encoded(_ formatting: JSONEncoder.OutputFormatting) throws -> Data {
        let enc = JSONEncoder()
        enc.outputFormatting = formatting.union(.withoutEscapingSlashes)
        enc.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return try enc.encode(self)
    }

    public static func decode(_ data: Data) throws -> RunRecord {
        let dec = JSONDecoder()
        dec.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return try dec.decode(RunRecord.self, from: data)
    }

    /// Writes the record (pretty JSON) atomically: a reader never sees half a file.
    public func write(to path: String) throws {
        do {
            try writeFileAtomically(try prettyJSON() + Data("\n".utf8), to: path)
        } catch {
            throw RunRecordError.writeFailed(path: path, reason: "\(error)")
        }
    }
}

extension RunRecord: Codable {
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let version = try c.decode(Int.self, forKey: .schemaVersion)
        guard version == Self.schemaVersion else {
            throw RunRecordError.unsupportedSchemaVersion(found: version, supported: Self.schemaVersion)
        }
        let name = try c.decode(String.self, forKey: .command)
        guard let command = RunCommand(rawValue: name) else { throw RunRecordError.unknownCommand(name) }
        schemaVersion = version
        model = try c.decode(ModelIdentity.self, forKey: .model)
        settings = try RunSettings.decode(command, from: c, forKey: .settings)
        secondsByPhase = try c.decode([String: Double].self, forKey: .secondsByPhase)
        secondsTotal = try c.decode(Double.self, forKey: .secondsTotal)
        peakRSSMegabytes = try c.decodeIfPresent(Double.self, forKey: .peakRSSMegabytes)
        memoryPlan = try c.decodeIfPresent(MemoryPlan.self, forKey: .memoryPlan)
        metrics = try c.decode(RunMetrics.self, forKey: .metrics)
        environment = try c.decode(RunEnvironment.self, forKey: .environment)
        result = try RunResult.decode(command, from: decoder)
    }

    public func encode(to encoder: Encoder) throws {
        // The result first, so that the envelope's values win should a key ever be shared.
        try result.encode(to: encoder)
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(schemaVersion, forKey: .schemaVersion)
        try c.encode(command, forKey: .command)
        try c.encode(model, forKey: .model)
        try settings.encode(to: &c, forKey: .settings)
        try c.encode(secondsByPhase, forKey: .secondsByPhase)
        try c.encode(secondsTotal, forKey: .secondsTotal)
        try c.encode(peakRSSMegabytes, forKey: .peakRSSMegabytes)
        try c.encodeIfPresent(memoryPlan, forKey: .memoryPlan)
        try c.encode(metrics, forKey: .metrics)
        try c.encode(environment, forKey: .environment)
    }
}
