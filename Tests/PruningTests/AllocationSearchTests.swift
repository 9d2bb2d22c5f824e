import XCTest
@testable import Pruning
import LLM
import ModelIO

/// Issue 17 (ES, the allocation part): the EvoPress-like search over per-layer sparsities keeps the
/// total exact after every generation, never accepts a worse parent, finds a better allocation where
/// one exists, and is reproducible.
final class AllocationSearchTests: XCTestCase {
    /// A separable toy fitness with its optimum at `best` (mean 0.5): Σ w_i (s_i − best_i)².
    let best: [Int: Double] = [0: 0.5 + 3.0 / 32, 1: 0.5 - 2.0 / 32, 2: 0.5, 3: 0.5 - 1.0 / 32, 4: 0.5]
    func toy(_ a: [Int: Double]) -> Double { a.reduce(0) { $0 + Double($1.key + 1) * pow($1.value - best[$1.key]!, 2) } }

    func testTotalStaysExactAndFitnessNeverRises() throws {
        var s = AllocationSearchSettings()
        s.generations = 60; s.offspring = 3; s.seed = 5
        var generations = 0, reported: [Double] = []
        let out = try AllocationSearch.search(layers: Array(0..<5), sparsity: 0.5, settings: s, fitness: toy) { _, fitness, levels in
            generations += 1
            reported.append(fitness)
            XCTAssertEqual(levels.values.reduce(0, +), 0, "levels must sum to 0 so the mean sparsity stays 0.5")
            XCTAssertTrue(levels.values.allSatisfy { abs(Double($0) * s.step) <= s.maxDeviation + 1e-12 })
        }
        XCTAssertEqual(generations, 60)
        XCTAssertEqual(out.fitness.count, 61)
        XCTAssertEqual(reported, Array(out.fitness.dropFirst()), "each generation reports the fitness it keeps")
        for (a, b) in zip(out.fitness, out.fitness.dropFirst()) { XCTAssertLessThanOrEqual(b, a) }
        XCTAssertEqual(out.allocation.values.reduce(0, +) / 5, 0.5, accuracy: 1e-12)
        XCTAssertLessThan(out.fitness.last!, 0.2 * out.fitness[0])
        // The same seed, the same allocation; the toy's optimum is reachable and is found.
        let again = try AllocationSearch.search(layers: Array(0..<5), sparsity: 0.5, settings: s, fitness: toy)
        XCTAssertEqual(again, out)
        s.generations = 400
        let long = try AllocationSearch.search(layers: Array(0..<5), sparsity: 0.5, settings: s, fitness: toy)
        for (i, v) in best { XCTAssertEqual(long.allocation[i]!, v, accuracy: 1e-12, "layer \(i)") }
    }

    func testRefusals() {
        var s = AllocationSearchSettings()
        s.generations = -1
        XCTAssertThrowsError(try s.validate(sparsity: 0.5)) { XCTAssertEqual($0 as? AllocationSearchError, .budget(generations: -1, offspring: 4)) }
        s = AllocationSearchSettings(); s.maxDeviation = 0.6
        XCTAssertThrowsError(try s.validate(sparsity: 0.5)) { XCTAssertTrue("\($0)".contains("[0, 1)"), "\($0)") }
        s = AllocationSearchSettings(); s.heldOutWindows = 0
        XCTAssertThrowsError(try s.validate(sparsity: 0.5))
        var c = PruneConfiguration(method: .sparsegpt, sparsity: 0.5); c.allocation = .evopress
        XCTAssertThrowsError(try c.validate(layerCount: 2)) { XCTAssertEqual($0 as? AllocationSearchError, .method(.sparsegpt)) }
        c = PruneConfiguration(method: .wanda, pattern: .nOfM(n: 2, m: 4), sparsity: 0.5); c.allocation = .evopress
        XCTAssertThrowsError(try c.validate(layerCount: 2))
        c = PruneConfiguration(method: .wanda, sparsity: 0.5); c.allocation = .evopress
        XCTAssertThrowsError(try LayerwisePruner.checkStreamable(c))
    }

    static let tiny = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/tiny/llama-gqa-untied").path
    let calibration: [[Int32]] = (0..<5).map { s in (0..<16).map { Int32((s * 7 + $0 * 13) % 48) } }

    func model() throws -> LlamaModel { try LlamaModel(checkpoint: try HFCheckpoint(directory: Self.tiny)) }

    func testPrunerKeepsTheUniformTotal() throws {
        let uniform = try model()
        let u = try LayerwisePruner(model: uniform, configuration: PruneConfiguration(method: .wanda, sparsity: 0.5)).run(calibration: calibration)
        var c = PruneConfiguration(method: .wanda, sparsity: 0.5)
        c.allocation = .evopress
        // Inputs of 32 and 40: a step of 1/8 is a whole number of weights in every row.
        c.allocationSearch.generations = 6; c.allocationSearch.offspring = 2; c.allocationSearch.heldOutWindows = 1
        c.allocationSearch.step = 0.125; c.allocationSearch.maxDeviation = 0.25
        let m = try model()
        let r = try LayerwisePruner(model: m, configuration: c).run(calibration: calibration)
        let loss = try XCTUnwrap(r.allocationSearchLoss)
        XCTAssertEqual(loss.count, 7)
        for (a, b) in zip(loss, loss.dropFirst()) { XCTAssertLessThanOrEqual(b, a) }
        let layers = try XCTUnwrap(r.layerSparsity)
        XCTAssertEqual(layers.values.reduce(0, +) / Double(layers.count), 0.5, accuracy: 1e-12)
        XCTAssertEqual(r.prunableZeros, u.prunableZeros, "the total pruned count must be the uniform one")
        // A step that is not a whole number of weights per row is refused.
        c.allocationSearch.step = 0.01
        XCTAssertThrowsError(try LayerwisePruner(model: try model(), configuration: c).run(calibration: calibration)) {
            XCTAssertTrue("\($0)".contains("whole number"), "\($0)")
        }
        c.allocationSearch.step = 0.125; c.allocationSearch.heldOutWindows = 5
        XCTAssertThrowsError(try LayerwisePruner(model: try model(), configuration: c).run(calibration: calibration)) {
            XCTAssertEqual($0 as? AllocationSearchError, .heldOut(5, windows: 5))
        }
    }
}
