import Foundation

/// Wall-clock seconds per named phase of a run (a run record's `seconds_by_phase`).
struct PhaseClock {
    private(set) var seconds: [String: Double] = [:]
    let start = Date()

    mutating func measure<T>(_ phase: String, _ body: () throws -> T) rethrows -> T {
        let t = Date()
        defer { seconds[phase, default: 0] += Date().timeIntervalSince(t) }
        return try body()
    }

    mutating func add(_ phase: String, _ s: Double) { seconds[phase, default: 0] += s }

    /// Adds another component's phases under `prefix` ("prune." + "embed").
    mutating func merge(_ other: [String: Double], prefix: String) {
        for (k, v) in other { seconds[prefix + k, default: 0] += v }
    }

    var elapsed: Double { Date().timeIntervalSince(start) }
}
