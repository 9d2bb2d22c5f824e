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

    /// ∂L/∂z from the weight gradients (`GatedWeights.gradients`) equals the central difference of
    /// the loss in z, for a gate of every kind — MLP channel, KV group, hidden channel, layer — with
    /// all four kinds gated at once (other gates at random values in (0, 1), so the products of
    /// gates are exercised), on a tied and an untied model.
    func testGateGradientMatchesFiniteDifferences() throws {
        for fixture in ["llama-gqa-untied", "llama-gqa-tied"] {
            let dir = URL(fileURLWithPath: BonsaiTests.tiny).deletingLastPathComponent().appendingPathComponent(fixture).path
            let m = try LlamaModel(checkpoint: try HFCheckpoint(directory: dir))
            let window = calibration[0]
            let gated = try GatedWeights(model: m, attentionLayers: [1], mlpLayers: [0, 1], hidden: true, layers: true)
            var rng = SeededRNG(seed: 11)
            func random(_ n: Int) -> [Double] { (0..<n).map { _ in 0.3 + 0.6 * Double(rng.next() >> 11) * 0x1p-53 } }
            var values = GatedWeights.Values()
            values.attention[1] = random(m.blockShape(1).kvHeads)
            values.mlp[0] = random(m.blockShape(0).intermediateSize)
            values.mlp[1] = random(m.blockShape(1).intermediateSize)
            values.hidden = random(m.hiddenSize)
            values.layers = random(m.layerCount)
            var g = ModelGradients(tensors: m.parameters.filter { gated.gradientNames.contains($0.name) }, partial: true)
            gated.write(values)
            _ = try m.accumulateGradients(tokens: window, into: &g, scale: 1)
            let analytic = try gated.gradients(g, at: values)
            func loss(_ v: GatedWeights.Values) throws -> Double {
                gated.write(v)
                return try LayerRemovalLoss.meanLoss(model: m, windows: [window], skipping: nil)
            }
            let h = 1e-2
            for (kind, unit) in [(HardConcreteGates.Kind.mlp(layer: 1), 7), (.mlp(layer: 0), 3), (.attention(layer: 1), 1),
                                 (.hidden, 5), (.hidden, 30), (.layers, 0), (.layers, 1)] {
                var up = values, down = values
                up[kind]![unit] += h; down[kind]![unit] -= h
                let numeric = (try loss(up) - loss(down)) / (2 * h)
                let a = try XCTUnwrap(analytic[kind])[unit]
                XCTAssertEqual(a, numeric, accuracy: 2e-3 * max(1, abs(numeric)), "\(fixture) \(kind.name) \(unit)")
                XCTAssertNotEqual(a, 0)
            }
            gated.restore()
            XCTAssertEqual(try m.logits(window), try LlamaModel(checkpoint: try HFCheckpoint(directory: dir)).logits(window),
                           "restore puts the frozen weights back")
        }
    }

    /// The gates drop the channels whose removal costs the calibration loss least: their choice
    /// removes less loss than the weight-magnitude (L1) choice and overlaps the six channels with
    /// the lowest single-removal loss change. (A random tiny model has channels whose removal
    /// lowers the loss; the gates find those too.)
    func testGatesDropTheChannelsTheLossNeedsLeast() throws {
        let m = try model()
        var s = HardConcreteGates.Settings()
        s.steps = 120
        let learned = try HardConcreteGates.learn(m, removing: GateRemovals(kvGroups: [0, 0], mlpChannels: [6, 6]), windows: calibration, settings: s)
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

    /// Sheared LLaMA's targeted pruning: the pruned model has exactly the target shape, and it
    /// computes what the gated dense model computes with the learned gates at 0 and 1 (the norms
    /// rescaled for the narrower residual stream), for every kind of cut at once.
    func testTargetShapeLandsExactlyAndEqualsTheGatedModel() throws {
        for text in ["hidden=24,kv_heads=1,intermediate=30", "layers=1,hidden=20", "layers=1"] {
            let shape = try L0TargetShape(parsing: text)
            var c = StructuredPruneConfiguration(criterion: .l0, ratio: 0.2, seed: 3)
            c.l0Steps = 10; c.l0TargetShape = shape
            let dense = try model()
            let r = try StructuredPruner.prune(dense, configuration: c, calibration: calibration)
            XCTAssertEqual(r.model.layerCount, shape.layers ?? 2, text)
            XCTAssertEqual(r.model.hiddenSize, shape.hiddenSize ?? 32, text)
            XCTAssertEqual(r.model.blockShapes.map(\.kvHeads), [Int](repeating: shape.kvHeads ?? 2, count: r.model.layerCount), text)
            XCTAssertEqual(r.model.blockShapes.map(\.intermediateSize), [Int](repeating: shape.intermediateSize ?? 40, count: r.model.layerCount), text)
            XCTAssertEqual(r.report.l0?.targetShape, shape)
            XCTAssertEqual(r.report.ratioRequested, r.report.ratioActual)
            XCTAssertEqual(r.report.droppedLayers.count, 2 - (shape.layers ?? 2))

            // The gated dense model with every gate at 1 (kept) or 0 (cut).
            let plan = r.plan
            var v = GatedWeights.Values()
            let keptGroups = (0..<2).map { Set(plan.keptKVGroups[$0]) }, keptChannels = (0..<2).map { Set(plan.keptMLPChannels[$0]) }
            for i in 0..<2 {
                v.attention[i] = (0..<2).map { keptGroups[i].contains($0) ? 1 : 0 }
                v.mlp[i] = (0..<40).map { keptChannels[i].contains($0) ? 1 : 0 }
            }
            let keptHidden = Set(plan.keptHiddenChannels ?? Array(0..<32))
            v.hidden = (0..<32).map { keptHidden.contains($0) ? 1 : 0 }
            v.layers = (0..<2).map { plan.keptLayers.contains($0) ? 1 : 0 }
            let unscaled = try StructuralShrink.apply(plan, to: dense)   // the cut without the norms' rescale
            let gated = try GatedWeights(model: dense, attentionLayers: [0, 1], mlpLayers: [0, 1], hidden: true, layers: true)
            gated.write(v)
            defer { gated.restore() }
            for window in calibration {
                let expected = try dense.logits(window)
                func error(_ m: LanguageModel) throws -> Float { zip(expected, try m.logits(window)).map { abs($0 - $1) }.max()! }
                let scale = expected.map { abs($0) }.max()!
                // RMSNorm's ε (1e-6 here, against a mean square of ~4e-4 in this random model) is
                // the one term the rescale cannot carry over: it leaves ~0.3 % of the logits' scale.
                XCTAssertLessThan(try error(r.model), 5e-3 * scale, "\(text): the cut model is the gated one")
                if shape.hiddenSize != nil {
                    XCTAssertGreaterThan(try error(unscaled), 10 * (try error(r.model)), "\(text): the rescale is what makes them equal")
                }
            }
        }
    }

    /// L0 with LoRA (`GateAdapters`): adapters on q, k, v, gate, up train with the gates; the
    /// model cut after merging them computes what the gated, merged model computes with the gates
    /// at 0/1 (every kind of cut, the hidden channels included: an adapter's A column for a cut
    /// channel reads zero); the dense model passed in is left as it was; the report names the
    /// adapters; the adapters move the kept weights away from the frozen run's.
    func testLoRAWithTheGatesIsCutExactlyAndLeavesTheDenseModel() throws {
        let shape = try L0TargetShape(parsing: "layers=1,hidden=24,kv_heads=1,intermediate=30")
        var settings = HardConcreteGates.Settings()
        settings.steps = 10; settings.seed = 5
        settings.lora = HardConcreteGates.AdapterSettings(rank: 2, learningRate: 1e-2)
        let dense = try model()
        let before = try dense.logits(calibration[2])
        let removals = try shape.removals(from: dense)
        let learned = try HardConcreteGates.learn(dense, removing: removals, windows: calibration, settings: settings)
        XCTAssertEqual(try dense.logits(calibration[2]), before, "the dense model is left as it was")
        for i in 0..<dense.layerCount { for p in dense.projections { XCTAssertNil(dense.linear(p, layer: i).adapter) } }

        let adapters = try XCTUnwrap(learned.adapters)
        XCTAssertEqual(adapters.configuration.targets, [.q, .k, .v, .gate, .up], "never o or down, whose weights the gates scale")
        let expectedCount = (0..<2).reduce(0) { n, i in
            n + adapters.configuration.targets.reduce(0) { $0 + 2 * (dense.linear($1, layer: i).inFeatures + dense.linear($1, layer: i).outFeatures) }
        }
        XCTAssertEqual(adapters.parameterCount, expectedCount)
        XCTAssertTrue(adapters.tensors.filter { $0.key.hasSuffix(LoRANames.b) }.values.contains { $0.contains { $0 != 0 } },
                      "the adapters were trained (B starts at zero)")
        XCTAssertEqual(learned.summary.loraRank, 2)
        XCTAssertEqual(learned.summary.loraParameters, expectedCount)

        // The cut, merged model against the gated, merged dense model with its gates at 0/1.
        let plan = try learned.plan(dense, removing: removals)
        let cut = HardConcreteGates.rescaledNorms(try adapters.merged(into: dense) { try StructuralShrink.apply(plan, to: dense) },
                                                  denseHiddenSize: dense.hiddenSize)
        XCTAssertEqual(cut.layerCount, 1); XCTAssertEqual(cut.hiddenSize, 24)
        let unmerged = HardConcreteGates.rescaledNorms(try StructuralShrink.apply(plan, to: dense), denseHiddenSize: dense.hiddenSize)
        XCTAssertNotEqual(try unmerged.logits(calibration[0]), try cut.logits(calibration[0]), "the cut model holds the adapters")
        var v = GatedWeights.Values()
        for i in 0..<2 {
            v.attention[i] = (0..<2).map { plan.keptKVGroups[i].contains($0) ? 1 : 0 }
            v.mlp[i] = (0..<40).map { plan.keptMLPChannels[i].contains($0) ? 1 : 0 }
        }
        let keptHidden = Set(plan.keptHiddenChannels ?? [])
        v.hidden = (0..<32).map { keptHidden.contains($0) ? 1 : 0 }
        v.layers = (0..<2).map { plan.keptLayers.contains($0) ? 1 : 0 }
        try adapters.merged(into: dense) {
            let gated = try GatedWeights(model: dense, attentionLayers: [0, 1], mlpLayers: [0, 1], hidden: true, layers: true)
            gated.write(v)
            defer { gated.restore() }
            for window in calibration {
                let expected = try dense.logits(window), got = try cut.logits(window)
                let scale = expected.map { abs($0) }.max()!
                // As in the target-shape test: RMSNorm's ε is the one term the rescale cannot carry.
                XCTAssertLessThan(zip(expected, got).map { abs($0 - $1) }.max()!, 5e-3 * scale)
            }
        }
        XCTAssertEqual(try dense.logits(calibration[2]), before, "merging for the cut leaves the dense model as it was")

        // Through the pruner: the report names the adapters, and the kept weights are not the frozen run's.
        var c = StructuredPruneConfiguration(criterion: .l0, ratio: 0.2, seed: 5)
        c.l0Steps = 10; c.l0TargetShape = shape
        let frozen = try StructuredPruner.prune(try model(), configuration: c, calibration: calibration)
        c.l0LoRARank = 2; c.l0LoRALearningRate = 1e-2
        let withLoRA = try StructuredPruner.prune(try model(), configuration: c, calibration: calibration)
        XCTAssertEqual(withLoRA.report.l0?.loraRank, 2)
        XCTAssertNil(frozen.report.l0?.loraRank)
        XCTAssertEqual(withLoRA.model.blockShapes, frozen.model.blockShapes, "the same target shape")
        XCTAssertNotEqual(try withLoRA.model.logits(calibration[0]), try frozen.model.logits(calibration[0]))
    }

    func testTargetShapeParsesAndRefuses() throws {
        let shape = try L0TargetShape(parsing: "layers=24, hidden=512,kv_heads=2,intermediate=1024")
        XCTAssertEqual(shape, L0TargetShape(layers: 24, hiddenSize: 512, kvHeads: 2, intermediateSize: 1024))
        XCTAssertEqual(try L0TargetShape(parsing: shape.description), shape)
        XCTAssertEqual(try JSONDecoder().decode(L0TargetShape.self, from: try JSONEncoder().encode(shape)), shape)
        for (bad, says) in [("layers=0", "at least 1"), ("width=3", "unknown key 'width'"), ("layers", "key=count"), ("hidden=x", "key=count")] {
            XCTAssertThrowsError(try L0TargetShape(parsing: bad), bad) { XCTAssertTrue("\($0)".contains(says), "\(bad): \($0)") }
        }
        func message(_ text: String, criterion: StructuredCriterion = .l0) -> String {
            var c = StructuredPruneConfiguration(criterion: criterion, ratio: 0.2)
            c.l0TargetShape = try? L0TargetShape(parsing: text)
            do { try StructuredPruner.checkBudget(try model(), configuration: c); return "" } catch { return "\(error)" }
        }
        XCTAssertTrue(message("hidden=33").contains("hidden size 33 exceeds the model's 32"), message("hidden=33"))
        XCTAssertTrue(message("kv_heads=3").contains("KV heads 3 exceeds"), message("kv_heads=3"))
        XCTAssertTrue(message("layers=2,hidden=32").contains("removes nothing"), message("layers=2,hidden=32"))
        XCTAssertTrue(message("layers=1", criterion: .taylor).contains("L0's"), message("layers=1", criterion: .taylor))
        XCTAssertEqual(message("layers=1,hidden=16,kv_heads=1,intermediate=8"), "")
        // OPT writes its residual stream through biases and a position table too: hidden and layer
        // gates are refused, KV-group and channel targets are not.
        let opt = try OPTModel(directory: URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/opt/opt-pre").path)
        var c = StructuredPruneConfiguration(criterion: .l0, ratio: 0.2)
        c.l0TargetShape = L0TargetShape(hiddenSize: opt.hiddenSize - 1)
        XCTAssertThrowsError(try StructuredPruner.checkBudget(opt, configuration: c)) {
            XCTAssertTrue("\($0)".contains("written only by the embedding"), "\($0)")
        }
        c.l0TargetShape = L0TargetShape(intermediateSize: opt.blockShape(0).intermediateSize - 1)
        XCTAssertNoThrow(try StructuredPruner.checkBudget(opt, configuration: c))
    }

    func testRefusals() throws {
        func message(_ c: StructuredPruneConfiguration, calibration: [[Int32]]? = nil) -> String {
            do { _ = try StructuredPruner.prune(try model(), configuration: c, calibration: calibration ?? self.calibration); return "" } catch { return "\(error)" }
        }
        XCTAssertTrue(message(StructuredPruneConfiguration(criterion: .l0, mode: .channel, ratio: 0.2)).contains("block mode"))
        var none = StructuredPruneConfiguration(criterion: .l0, ratio: 0.2, attentionLayers: 0...1)
        none.l0Steps = 0
        XCTAssertTrue(message(none).contains("at least one step"))
        var rank0 = StructuredPruneConfiguration(criterion: .l0, ratio: 0.2, attentionLayers: 0...1)
        rank0.l0LoRARank = 0
        XCTAssertTrue(message(rank0).contains("LoRA rank must be at least 1"), message(rank0))
        var taylorLoRA = StructuredPruneConfiguration(criterion: .taylor, ratio: 0.2, attentionLayers: 0...1)
        taylorLoRA.l0LoRARank = 4
        XCTAssertTrue(message(taylorLoRA).contains("L0's"), message(taylorLoRA))
        XCTAssertTrue(message(StructuredPruneConfiguration(criterion: .l0, ratio: 0.2, attentionLayers: 0...1), calibration: [])
            .contains("calibration windows"))
        XCTAssertThrowsError(try StructuredPruner.checkStreamable(StructuredPruneConfiguration(criterion: .l0, ratio: 0.2))) { e in
            XCTAssertTrue("\(e)".contains("does not stream"), "\(e)")
        }
    }
}
