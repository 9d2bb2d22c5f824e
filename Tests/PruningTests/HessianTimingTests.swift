import XCTest
import Compute
@testable import Pruning

final class HessianTimingTests: XCTestCase {
    /// Informational: seconds per add() of one 2048-token sequence at SmolLM2 widths.
    func testHessianAddTiming() {
        var g = SeededRNG(seed: 2)
        for cols in [576, 1536] {
            let tokens = 2048
            let x = (0..<(tokens * cols)).map { _ in g.nextGaussian() }
            let acc = HessianAccumulator(cols: cols)
            acc.add(x, rows: tokens)
            let t0 = Date()
            for _ in 0..<3 { acc.add(x, rows: tokens) }
            let dt = Date().timeIntervalSince(t0) / 3
            let gflops = Double(tokens) * Double(cols) * Double(cols) / dt / 1e9   // xᵀx half = n²·k MAC·2/2
            print(String(format: "Hessian add %d tokens × %d: %.3f s (%.1f GFLOP/s effective on the symmetric half)", tokens, cols, dt, gflops))
        }
    }
}
