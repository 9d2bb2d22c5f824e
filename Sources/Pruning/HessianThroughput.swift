import Compute
import Foundation

/// Speed of SparseGPT's Hessian accumulation (`HessianAccumulator.add`, XᵀX on the symmetric
/// half) at a given width: the cost that dominates SparseGPT's calibration. Measured by
/// `secateur bench hessian`; it was a timing printout in the test suite, where it asserted nothing.
public struct HessianThroughput: Codable, Sendable {
    public var tokens: Int
    public var cols: Int
    /// Seconds per add() of `tokens` rows (mean of the timed repetitions, after one warm-up).
    public var secondsPerAdd: Double
    /// tokens · cols² / seconds: the effective rate on the symmetric half, in GFLOP/s.
    public var gflopsPerSecond: Double

    enum CodingKeys: String, CodingKey {
        case tokens, cols, secondsPerAdd = "seconds_per_add", gflopsPerSecond = "gflops_per_second"
    }

    public static func measure(tokens: Int, cols: Int, repetitions: Int = 3, seed: UInt64 = 2) -> HessianThroughput {
        var g = SeededRNG(seed: seed)
        let x = (0..<(tokens * cols)).map { _ in g.nextGaussian() }
        let acc = HessianAccumulator(cols: cols)
        acc.add(x, rows: tokens)
        let t0 = Date()
        for _ in 0..<max(1, repetitions) { acc.add(x, rows: tokens) }
        let dt = Date().timeIntervalSince(t0) / Double(max(1, repetitions))
        return HessianThroughput(tokens: tokens, cols: cols, secondsPerAdd: dt,
                                 gflopsPerSecond: Double(tokens) * Double(cols) * Double(cols) / dt / 1e9)
    }
}
