import Compute
import Foundation
import LLM

/// What every pipeline does around its own work: time phases, load the model and identify it,
/// and assemble the record at the end.
struct RunContext {
    var clock = PhaseClock()
    let threads: Int

    init(threads: Int?) { self.threads = threads ?? defaultEngineThreads }

    /// Loads `spec` (timed as "load") and identifies it (timed as "hash").
    mutating func load(_ spec: String, streamBlocks: Bool = false) throws -> (LoadedModel, ModelIdentity) {
        let loaded = try clock.measure("load") { try ModelLoader.load(spec, streamBlocks: streamBlocks) }
        return (loaded, try identify(loaded, timeLoad: false))
    }

    /// Identifies an already loaded model; its load time is taken from the loader.
    mutating func identify(_ loaded: LoadedModel, timeLoad: Bool = true) throws -> ModelIdentity {
        if timeLoad { clock.add("load", loaded.loadSeconds) }
        return try clock.measure("hash") { try ModelIdentity(loaded) }
    }

    func record(model: ModelIdentity, settings: RunSettings, metrics: RunMetrics = RunMetrics(), result: RunResult) -> RunRecord {
        RunRecord(model: model, settings: settings, secondsByPhase: clock.seconds, secondsTotal: clock.elapsed,
                  peakRSSMegabytes: ProcessMemory.peakResidentBytes().map { Double($0) / 1_048_576 }, metrics: metrics,
                  environment: .current(threads: threads), result: result)
    }
}
