import XCTest
import Compute
import ModelIO

/// AdamW, the learning-rate schedules and gradient clipping against torch.optim.AdamW,
/// transformers' get_*_schedule_with_warmup and torch.nn.utils.clip_grad_norm_
/// (Tests/Fixtures/recovery/adamw.safetensors, from scripts/make_recovery_fixtures.py).
final class OptimizationTests: XCTestCase {
    static let file = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/recovery/adamw.safetensors").path

    func testAdamWMatchesTorch() throws {
        let f = try SafetensorsFile(path: Self.file)
        var p = try f.loadFloat32("p0")
        let grads = try f.loadFloat32("grads"), ref = try f.loadFloat32("p6")
        let n = p.count
        var opt = AdamW(settings: AdamWSettings(learningRate: 0.05, weightDecay: 0.1), parameterCount: n)
        for k in 0..<6 { opt.step(parameters: &p, gradients: Array(grads[(k * n)..<((k + 1) * n)]), learningRate: 0.05) }
        XCTAssertEqual(opt.state.step, 6)
        for (a, b) in zip(p, ref) { XCTAssertEqual(a, b, accuracy: 1e-6 * max(1, abs(b))) }
        XCTAssertNotEqual(p, try f.loadFloat32("p0"))
    }

    func testFrozenEntriesNeverMove() {
        var p: [Float] = [0, 1, 0, -2]
        var opt = AdamW(settings: AdamWSettings(learningRate: 0.1, weightDecay: 0.5), parameterCount: 4)
        for _ in 0..<3 { opt.step(parameters: &p, gradients: [1, 1, -1, 1], learningRate: 0.1, frozen: [true, false, true, false]) }
        XCTAssertEqual(p[0], 0); XCTAssertEqual(p[2], 0)
        XCTAssertEqual(opt.state.firstMoment[0], 0); XCTAssertEqual(opt.state.secondMoment[2], 0)
        XCTAssertNotEqual(p[1], 1)
    }

    func testSchedulesMatchTransformers() throws {
        let f = try SafetensorsFile(path: Self.file)
        for s in LearningRateSchedule.allCases {
            let ref = try f.loadFloat32("lrs.\(s.rawValue)")
            for k in 0..<10 {
                XCTAssertEqual(s.learningRate(step: k, peak: 1, warmupSteps: 3, totalSteps: 10), ref[k], accuracy: 1e-7, "\(s) step \(k)")
            }
        }
    }

    func testClippingMatchesTorch() throws {
        let f = try SafetensorsFile(path: Self.file)
        var g = try f.loadFloat32("clip.g")
        let norm = g.withUnsafeMutableBufferPointer { clipGradientNorm($0.baseAddress!, count: $0.count, maxNorm: try! f.loadFloat32("clip.max")[0]) }
        XCTAssertEqual(norm, try f.loadFloat32("clip.norm")[0], accuracy: 1e-5 * norm)
        for (a, b) in zip(g, try f.loadFloat32("clip.out")) { XCTAssertEqual(a, b, accuracy: 1e-6) }
    }
}
