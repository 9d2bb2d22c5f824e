import Compute
import XCTest
@testable import Pruning
import LLM
import ModelIO

/// L0 with Hard Concrete gates (issue 17): the gate's closed forms, the loss's derivative by a
/// gate against finite differences, gates that find planted dead channels, and the whole method:
/// exact ratio (the shapes of every block-mode criterion), seeded determinism, refusals.
final class HardConcreteGatesTests: XCTestCase {
    let calibration: [[Int32]] = (0..<3).map { s in (0..<16).map { Int32((s * 7 + $0 * 13) % 48) } }

    func model() throws -> LlamaModel { try LlamaModel(checkpoint: try HFCheckpoint(directory: BonsaiTests.tiny)) }

    func testGateClosedForms() {
        // u = ½, log α = 0: s = σ(0) = ½, z = ½·1.2 − 0.1 = 0.5, ∂z/∂log α = 1.2·¼ / (2/3) = 0.45.
        let mid = HardConcreteGates.sample(logAlpha: 0, u: 0.5)
        XCTAssertEqual(mid.z, 0.5, accuracy: 1e-12)
        XCTAssertEqual(mid.dz, 0.45, accuracy: 1e-12)
        // Far from the middle the stretched sigmoid is clipped: exactly 0 or 1, no gradient.
        XCTAssertEqual(HardConcreteGates.sample(logAlpha: -10, u: 0.5).z, 0)
        XCTAssertEqual(HardConcreteGates.sample(logAlpha: 10, u: 0.5).z, 1)
        XCTAssertEqual(HardConcreteGates.sample(logAlpha: 10, u: 0.5).dz, 0)
        // P(z ≠ 0) = σ(log α − β·log(−γ/ζ)) = σ((2/3)·log 11) at log α = 0; its derivative by
        // finite differences.
        let p = HardConcreteGates.keepProbability(logAlpha: 0)
        XCTAssertEqual(p.p, 1 / (1 + exp(-(2.0 / 3.0) * log(11.0))), accuracy: 1e-12)
        let h = 1e-6
        let fd = (HardConcreteGates.keepProbability(logAlpha: h).p - HardConcreteGates.keepProbability(logAlpha: -h).p) / (2 * h)
        XCTAssertEqual(p.dp, fd, accuracy: 1e-6)
        // Monte Carlo: the share of non-zero samples matches P(z ≠ 0).
        var rng = SeededRNG(seed: 3)
        let n = 20_000
        let nonzero = (0..<n).filter { _ in HardConcreteGates.sample(logAlpha: 0.7, u: Double(rng.next() >> 11) * 0x1p-53).z > 0 }.count
        XCTAssertEqual(Double(nonzero) / Double(n), HardConcreteGates.keepProbability(logAlpha: 0.7).p, accuracy: 0.01)
    }

    /// ∂L/∂z from the weight gradient (Σ W₀ ⊙ ∂L/∂W over the unit's columns) equals the central
    /// difference of the loss in z, for an MLP channel and for a KV group.
    func testGateGradientMatchesFiniteDifferences() throws {
        let m = try model()
        let window = calibration[0]
        for (attention, unit) in [(false, 7), (true, 1)] {
            let p: Projection = attention ? .o : .down
            let name = m.moduleName(p, layer: 1) + ".weight"
            let original = m.linear(p, layer: 1)
            let module = HardConcreteGates.Module(layer: 1, attention: attention, units: attention ? m.blockShape(1).kvHeads : m.blockShape(1).intermediateSize,
                                                  removing: 1, logAlpha: [], adamM: [], adamV: [])
            let z0 = 0.6
            var gates = [Double](repeating: 1, count: module.units)
            func loss(_ z: Double) throws -> Double {
                gates[unit] = z
                m.setLinear(HardConcreteGates.scaledColumns(original, gates: gates, model: m, module: module), p, layer: 1)
                defer { m.setLinear(original, p, layer: 1) }
                return try LayerRemovalLoss.meanLoss(model: m, windows: [window], skipping: nil)
            }
            gates[unit] = z0
            m.setLinear(HardConcreteGates.scaledColumns(original, gates: gates, model: m, module: module), p, layer: 1)
            var g = ModelGradients(tensors: m.parameters.filter { $0.name == name }, partial: true)
            _ = try m.accumulateGradients(tokens: window, into: &g, scale: 1)
            m.setLinear(original, p, layer: 1)
            let analytic = try HardConcreteGates.gateGradients(g[name], original: original, model: m, module: module)[unit]
            let h = 1e-2
            let numeric = (try loss(z0 + h) - loss(z0 - h)) / (2 * h)
            XCTAssertEqual(analytic, numeric, accuracy: 2e-3 * max(1, abs(numeric)), "\(attention ? "KV group" : "MLP channel")")
            XCTAssertNotEqual(analytic, 0)
        }
    }

    /// The gates drop the channels whose removal costs the calibration loss least: their choice
    /// removes less loss than the weight-magnitude (L1) choice and overlaps the six channels with
    /// the lowest single-removal loss change. (A random tiny model has channels whose removal
    /// lowers the loss; the gates find those too.)
    func testGatesDropTheChannelsTheLossNeedsLeast() throws {
        let m = try model()
        let allocation = BlockAllocation(removedKVGroups: [0, 0], removedMLPChannels: [6, 6], perLayerRatio: 0.15, removedParameters: 0)
        var s = HardConcreteGates.Settings()
        s.steps = 120
        let learned = try HardConcreteGates.scores(m, allocation: allocation, windows: calibration, settings: s)
        let base = try LayerRemovalLoss.meanLoss(model: m, windows: calibration, skipping: nil)
        func lossWithout(_ removed: [[Int]]) throws -> Double {
            let originals = (0..<2).map { m.linear(.down, layer: $0) }
            defer { for i in 0..<2 { m.setLinear(originals[i], .down, layer: i) } }
            for i in 0..<2 {
                m.setLinear(Bonsai.zeroingInputs(of: originals[i], units: removed[i], model: m, module: false, layer: i), .down, layer: i)
            }
            return try LayerRemovalLoss.meanLoss(model: m, windows: calibration, skipping: nil)
        }
        var chosen: [[Int]] = [], magnitude: [[Int]] = [], overlap = 0
        for i in 0..<2 {
            XCTAssertTrue(learned.attention[i].isEmpty, "no attention group is due")
            let kept = Set(StructuredPlan.keepHighest(learned.mlp[i], removing: 6))
            chosen.append((0..<40).filter { !kept.contains($0) })
            let down = m.linear(.down, layer: i)
            let l1 = (0..<40).map { c in (0..<down.outFeatures).reduce(0.0) { $0 + Double(abs(down.weight[$1 * 40 + c])) } }
            let keptL1 = Set(StructuredPlan.keepHighest(l1, removing: 6))
            magnitude.append((0..<40).filter { !keptL1.contains($0) })
            // Single-removal loss change per channel (the other layer intact).
            var single = [Double](repeating: 0, count: 40)
            for c in 0..<40 {
                var r: [[Int]] = [[], []]; r[i] = [c]
                single[c] = try lossWithout(r) - base
            }
            let cheapest = Set((0..<40).sorted { single[$0] < single[$1] }.prefix(6))
            overlap += cheapest.intersection(chosen[i]).count
        }
        // Removing channels together is not the sum of removing them one by one, so the sets need
        // not agree; a random choice of 6 of 40 would share 0.9 per layer on average.
        XCTAssertGreaterThanOrEqual(overlap, 5, "\(chosen)")
        var rng = SeededRNG(seed: 4)
        var randomLoss = 0.0
        for _ in 0..<5 {
            randomLoss += try lossWithout((0..<2).map { _ in Array((0..<40).shuffled(using: &rng).prefix(6)) }) / 5
        }
        XCTAssertLessThan(try lossWithout(chosen), randomLoss, "gates beat random choices")
        XCTAssertLessThan(try lossWithout(chosen), try lossWithout(magnitude), "gates beat weight magnitude")
        XCTAssertLessThan(learned.summary.constraintGap, 0.05, "the gates' expected sparsity approaches the budget")
    }

    func testLandsOnTheSameShapesAsTheOtherCriteriaAndIsSeeded() throws {
        func run(_ criterion: StructuredCriterion, seed: UInt64 = 0) throws -> StructuredPruner.Result {
            var c = StructuredPruneConfiguration(criterion: criterion, ratio: 0.3, attentionLayers: 0...1, seed: seed)
            c.l0Steps = 12
            return try StructuredPruner.prune(try model(), configuration: c, calibration: calibration)
        }
        let l1 = try run(.l1), a = try run(.l0), b = try run(.l0), other = try run(.l0, seed: 9)
        XCTAssertEqual(a.report.paramsAfter, l1.report.paramsAfter, "the same allocation as every block-mode criterion")
        XCTAssertEqual(a.model.blockShapes, l1.model.blockShapes)
        XCTAssertEqual(a.report.ratioActual, 0.3, accuracy: 0.005)
        XCTAssertEqual(a.plan, b.plan, "same seed, same plan")
        XCTAssertEqual(a.report.l0, b.report.l0)
        XCTAssertNotEqual(a.report.l0, other.report.l0, "another seed samples other gates")
        let summary = try XCTUnwrap(a.report.l0)
        XCTAssertEqual(summary.steps, 12)
        XCTAssertTrue(summary.firstLoss.isFinite && summary.lastLoss.isFinite)
        XCTAssertEqual(a.report.calibrationWindows, 3)
        let replay = try StructuralShrink.apply(a.plan, to: try model())
        XCTAssertEqual(try replay.logits(calibration[1]), try a.model.logits(calibration[1]))
    }

    func testRefusals() throws {
        func message(_ c: StructuredPruneConfiguration, calibration: [[Int32]]? = nil) -> String {
            do { _ = try StructuredPruner.prune(try model(), configuration: c, calibration: calibration ?? self.calibration); return "" } catch { return "\(error)" }
        }
        XCTAssertTrue(message(StructuredPruneConfiguration(criterion: .l0, mode: .channel, ratio: 0.2)).contains("block mode"))
        var none = StructuredPruneConfiguration(criterion: .l0, ratio: 0.2, attentionLayers: 0...1)
        none.l0Steps = 0
        XCTAssertTrue(message(none).contains("at least one step"))
        XCTAssertTrue(message(StructuredPruneConfiguration(criterion: .l0, ratio: 0.2, attentionLayers: 0...1), calibration: [])
            .contains("calibration windows"))
        XCTAssertThrowsError(try StructuredPruner.checkStreamable(StructuredPruneConfiguration(criterion: .l0, ratio: 0.2))) { e in
            XCTAssertTrue("\(e)".contains("does not stream"), "\(e)")
        }
    }
}
