import Compute
import Foundation
import LLM

/// What every pipeline does around its own work: time phases, load the model and identify it,
/// and assemble the record at the end.
struct RunContext {
    var clock = PhaseClock()
    let threads: Int
    /// The run's memory estimate, checked against its budget (`plan(_:budget:advice:progress:)`).
    var memoryPlan: MemoryPlan?

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

    /// Checks `plan` against `budget` (refusing the run before any large work when it does not
    /// fit) and keeps it for the record; `notePlan` reports it once the run is under way.
    mutating func plan(_ plan: MemoryPlan, budget: Int?, advice: String) throws {
        var p = plan
        try MemoryBudget.check(&p, budget: budget, advice: advice)
        memoryPlan = p
    }

    func notePlan(_ progress: RunProgressHandler) {
        guard let p = memoryPlan else { return }
        progress(.note("memory plan: about \(MemorySize.describe(p.totalBytes))"
                       + (p.budgetBytes.map { " of a \(MemorySize.describe($0)) budget" } ?? "") + " (largest: \(p.largest(3)))"))
    }

    func record(model: ModelIdentity, settings: RunSettings, metrics: RunMetrics = RunMetrics(), result: RunResult) -> RunRecord {
        var r = RunRecord(model: model, settings: settings, secondsByPhase: clock.seconds, secondsTotal: clock.elapsed,
                          peakRSSMegabytes: ProcessMemory.peakResidentBytes().map { Double($0) / 1_048_576 }, metrics: metrics,
                          environment: .current(threads: threads), result: result)
        r.memoryPlan = memoryPlan
        return r
    }
}
