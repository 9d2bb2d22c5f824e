import XCTest
import Foundation
import LLM
import ModelIO
import Pruning

/// The pruning methods run on OPT through the model interface (no OPT-specific code in Pruning):
/// exact sparsity, masks kept, and a pruned model saved and reloaded gives the same logits.
final class OPTPruningTests: XCTestCase {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Fixtures/opt")
    let calibration: [[Int32]] = (0..<4).map { (w: Int) -> [Int32] in (0..<24).map { (t: Int) -> Int32 in Int32(4 + (w * 31 + t * 17) % 500) } }
    let probe: [Int32] = [2, 40, 77, 123, 9, 300, 41, 5]
    let opt: [Projection] = [.q, .k, .v, .o, .up, .down]

    func model(_ name: String) throws -> OPTModel { try OPTModel(directory: Self.fixtures.appendingPathComponent(name).path) }

    func savedAndReloaded(_ m: LanguageModel, from name: String) throws -> LanguageModel {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("secateur-opt-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        try ModelWriter.save(m, source: .huggingFaceDirectory(Self.fixtures.appendingPathComponent(name)), to: dir.path)
        return try OPTModel(directory: dir.path)
    }

    func testUnstructuredMethodsLandOnTheRatioAndSurviveSaving() throws {
        for name in ["opt-pre", "opt-post-proj"] {
            for (method, pattern) in [(PruneMethod.magnitude, SparsityPattern.unstructured), (.wanda, .unstructured),
                                      (.sparsegpt, .unstructured), (.wanda, .nOfM(n: 2, m: 4))] {
                let m = try model(name)
                var c = PruneConfiguration(method: method, pattern: pattern, sparsity: 0.5, matrices: opt)
                let report = try LayerwisePruner(model: m, configuration: c).run(calibration: calibration)
                // SparseGPT's reconstruction can round a kept weight to exactly zero, so it may land a hair above.
                XCTAssertEqual(report.sparsityAchieved, 0.5, accuracy: method == .sparsegpt ? 2e-3 : 1e-9, "\(name) \(method) \(pattern)")
                let back = try savedAndReloaded(m, from: name)
                XCTAssertEqual(try back.logits(probe), try m.logits(probe), "\(name) \(method): reloaded logits")
                XCTAssertEqual(back.zeroParameterCount, m.zeroParameterCount)
            }
        }
    }

    func testOnePassOrderRunsAndGateIsRefused() throws {
        let m = try model("opt-pre")
        var c = PruneConfiguration(method: .wanda, sparsity: 0.5, matrices: opt)
        c.order = .onePass
        XCTAssertEqual(try LayerwisePruner(model: m, configuration: c).run(calibration: calibration).sparsityAchieved, 0.5, accuracy: 1e-9)
        XCTAssertThrowsError(try LayerwisePruner(model: m, configuration: PruneConfiguration(method: .wanda, sparsity: 0.5))) {
            XCTAssertTrue("\($0)".contains("gate"), "\($0)")
        }
    }

    func testStructuredHeadsAndMLPChannelsShrinkTheModel() throws {
        for name in ["opt-pre", "opt-post-proj"] {
            let m = try model(name)
            let c = StructuredPruneConfiguration(criterion: .l2, ratio: 0.25, ratioMode: .model, attentionLayers: 0...1, mlpLayers: 0...1)
            let r = try StructuredPruner.prune(m, configuration: c, calibration: calibration)
            XCTAssertEqual(r.report.ratioActual, 0.25, accuracy: BlockBudget.tolerance, name)
            XCTAssertLessThan(r.model.parameterCount, m.parameterCount)
            let back = try savedAndReloaded(r.model, from: name)
            XCTAssertEqual(back.blockShapes, r.model.blockShapes)
            XCTAssertEqual(try back.logits(probe), try r.model.logits(probe), "\(name): reloaded structured logits")
        }
    }

    // LLM-Pruner's Taylor criterion on OPT: the gradients come from OPT's own backward.

    /// First-order head scores by hand, Σ|w·g| over the head's q, k, v rows and out_proj columns
    /// (LLM-Pruner's param_first with the sum grouping), against `GroupImportance`.
    func testHeadScoresAreTheFirstOrderTaylorSums() throws {
        let m = try model("opt-pre")
        let stats = try TaylorStatistics.collect(model: m, windows: calibration, withFisher: false)
        let scores = try GroupImportance(criterion: .taylor, statistics: stats).attentionGroupScores(m, layer: 1)
        let shape = m.blockShape(1), hd = shape.headDim, d = m.hiddenSize
        XCTAssertEqual(scores.count, shape.heads)
        for h in 0..<shape.heads {
            var expected = 0.0
            for p in [Projection.q, .k, .v] {
                let name = m.moduleName(p, layer: 1) + ".weight"
                let w: [Float] = m.linear(p, layer: 1).weight, g: [Float] = stats.gradient[name]
                for r in (h * hd)..<((h + 1) * hd) { for c in 0..<d { expected += Double(abs(w[r * d + c] * g[r * d + c])) } }
            }
            let name = m.moduleName(Projection.o, layer: 1) + ".weight"
            let w: [Float] = m.linear(Projection.o, layer: 1).weight, g: [Float] = stats.gradient[name]
            let width = shape.queryWidth
            for r in 0..<d { for c in (h * hd)..<((h + 1) * hd) { expected += Double(abs(w[r * width + c] * g[r * width + c])) } }
            XCTAssertGreaterThan(expected, 0)
            XCTAssertEqual(scores[h], expected, accuracy: 1e-6 * expected, "head \(h)")
        }
    }

    func testTaylorStructuredPruningLandsOnTheRatioAndSurvivesSaving() throws {
        for name in ["opt-pre", "opt-post-proj"] {
            for order in [TaylorOrder.first, .second, .vectorize] {
                let m = try model(name)
                let c = StructuredPruneConfiguration(criterion: .taylor, ratio: 0.25, ratioMode: .model,
                                                     attentionLayers: 0...1, mlpLayers: 0...1, taylorOrder: order)
                let r = try StructuredPruner.prune(m, configuration: c, calibration: calibration)
                XCTAssertEqual(r.report.ratioActual, 0.25, accuracy: BlockBudget.tolerance, "\(name) \(order)")
                let back = try savedAndReloaded(r.model, from: name)
                XCTAssertEqual(back.blockShapes, r.model.blockShapes)
                XCTAssertEqual(try back.logits(probe), try r.model.logits(probe))
            }
        }
    }
}
