import Compute
import XCTest
@testable import Pruning
import LLM
import ModelIO

/// Bonsai (issue 17): the pieces it stands on — the score regression recovers planted
/// importances, a sub-model made by zeroing o/down columns computes exactly the smaller model —
/// and the whole method: exact ratio (the same shapes as every block-mode criterion), seeded
/// determinism, refusals.
final class BonsaiTests: XCTestCase {
    static let tiny = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Fixtures/tiny/llama-gqa-untied").path
    let calibration: [[Int32]] = (0..<3).map { s in (0..<16).map { Int32((s * 7 + $0 * 13) % 48) } }

    func model() throws -> LlamaModel { try LlamaModel(checkpoint: try HFCheckpoint(directory: Self.tiny)) }

    /// y = Σ w_j·x_j + noise over random keep-masks: the fitted β ranks the units as w does.
    func testRegressionRecoversPlantedImportances() {
        var rng = SeededRNG(seed: 11)
        let units = 30, samples = 160
        let w = (0..<units).map { _ in Double(rng.nextFloat()) }
        var x = [Double](), y = [Double]()
        for _ in 0..<samples {
            let row = (0..<units).map { _ in rng.nextFloat() < 0.5 ? 1.0 : 0.0 }
            x += row
            y.append(zip(row, w).reduce(3.0) { $0 + $1.0 * $1.1 } + 0.02 * Double(rng.nextGaussian()))
        }
        let beta = UnitRegression.fit(x: x, y: y, units: units)
        XCTAssertGreaterThan(UnitRegression.kendallTau(beta, w), 0.9, "β ranks the units as the planted weights")
        // Ridge shrinks β but keeps it proportional to w: their correlation is near 1.
        func centred(_ v: [Double]) -> [Double] { let m = v.reduce(0, +) / Double(v.count); return v.map { $0 - m } }
        let cb = centred(beta), cw = centred(w)
        let correlation = zip(cb, cw).reduce(0) { $0 + $1.0 * $1.1 }
            / (cb.reduce(0) { $0 + $1 * $1 } * cw.reduce(0) { $0 + $1 * $1 }).squareRoot()
        XCTAssertGreaterThan(correlation, 0.98)
        XCTAssertEqual(UnitRegression.kendallTau([1, 2, 3], [10, 20, 30]), 1)
        XCTAssertEqual(UnitRegression.kendallTau([1, 2, 3], [3, 2, 1]), -1)
    }

    /// Zeroing the removed KV groups' query-head columns of o and the removed channels' columns of
    /// down gives the logits of the model physically shrunk to the same units.
    func testZeroedColumnsComputeTheSmallerModel() throws {
        let m = try model()
        var plan = StructuredPlan(kvHeads: m.blockShapes.map(\.kvHeads), intermediateSizes: m.blockShapes.map(\.intermediateSize))
        plan.keptKVGroups[0] = [1]
        plan.keptMLPChannels[0] = (0..<40).filter { $0 % 3 != 0 }
        plan.keptMLPChannels[1] = (0..<40).filter { $0 % 4 != 1 }
        let small = try StructuralShrink.apply(plan, to: m)
        for i in 0..<2 {
            let goneKV = (0..<2).filter { !plan.keptKVGroups[i].contains($0) }
            if !goneKV.isEmpty { m.setLinear(Bonsai.zeroingInputs(of: m.linear(.o, layer: i), units: goneKV, model: m, module: true, layer: i), .o, layer: i) }
            let goneMLP = (0..<40).filter { !plan.keptMLPChannels[i].contains($0) }
            m.setLinear(Bonsai.zeroingInputs(of: m.linear(.down, layer: i), units: goneMLP, model: m, module: false, layer: i), .down, layer: i)
        }
        let window = calibration[0]
        let a = try m.logits(window), b = try small.logits(window)
        XCTAssertEqual(a.count, b.count)
        XCTAssertLessThan(zip(a, b).map { abs($0 - $1) }.max()!, 1e-5)
    }

    /// The sub-models' loss comes from one packed forward of all windows: the same as window by window.
    func testPackedLossEqualsTheWindowByWindowLoss() throws {
        let m = try model()
        let packed = try m.meanNextTokenLoss(windows: calibration)
        let separate = try LayerRemovalLoss.meanLoss(model: m, windows: calibration, skipping: nil)
        XCTAssertEqual(packed, separate, accuracy: 1e-5 * abs(separate))
    }

    func testLandsOnTheSameShapesAsTheOtherCriteriaAndIsSeeded() throws {
        func run(_ criterion: StructuredCriterion, seed: UInt64 = 0) throws -> StructuredPruner.Result {
            var c = StructuredPruneConfiguration(criterion: criterion, ratio: 0.3, attentionLayers: 0...1, seed: seed)
            c.bonsaiMasks = 12
            return try StructuredPruner.prune(try model(), configuration: c, calibration: calibration)
        }
        let l1 = try run(.l1), a = try run(.bonsai), b = try run(.bonsai)
        XCTAssertEqual(a.report.paramsAfter, l1.report.paramsAfter, "the same allocation as every block-mode criterion")
        XCTAssertEqual(a.model.blockShapes, l1.model.blockShapes)
        XCTAssertEqual(a.report.ratioActual, 0.3, accuracy: 0.005)
        XCTAssertEqual(a.plan, b.plan, "same seed, same plan")
        let summary = try XCTUnwrap(a.report.bonsai)
        XCTAssertEqual(summary.rounds, 6, "0.3 in steps of 0.05")
        XCTAssertEqual(summary.perplexityAfterRound.count, summary.perplexityAfterRound.filter(\.isFinite).count)
        XCTAssertGreaterThan(summary.subModelsEvaluated, 0)
        // The plan is in the dense model's indices and the pruned model is that plan applied.
        let replay = try StructuralShrink.apply(a.plan, to: try model())
        XCTAssertEqual(try replay.logits(calibration[1]), try a.model.logits(calibration[1]))
    }

    func testRefusals() throws {
        func message(_ c: StructuredPruneConfiguration) -> String {
            do { _ = try StructuredPruner.prune(try model(), configuration: c, calibration: calibration); return "" } catch { return "\(error)" }
        }
        XCTAssertTrue(message(StructuredPruneConfiguration(criterion: .bonsai, mode: .channel, ratio: 0.2)).contains("block mode"))
        var few = StructuredPruneConfiguration(criterion: .bonsai, ratio: 0.2)
        few.bonsaiMasks = 1
        XCTAssertTrue(message(few).contains("at least 2 sub-models"))
        do {
            _ = try StructuredPruner.prune(try model(), configuration: StructuredPruneConfiguration(criterion: .bonsai, ratio: 0.2, attentionLayers: 0...1))
            XCTFail("no calibration windows")
        } catch { XCTAssertTrue("\(error)".contains("calibration windows"), "\(error)") }
        XCTAssertThrowsError(try StructuredPruner.checkStreamable(StructuredPruneConfiguration(criterion: .bonsai, ratio: 0.2))) { e in
            XCTAssertTrue("\(e)".contains("does not stream"), "\(e)")
        }
    }
}
