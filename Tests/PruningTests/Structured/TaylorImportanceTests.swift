import XCTest
@testable import Pruning
import Compute
import LLM
import TestSupport
import ModelIO

/// Taylor (and magnitude) group scores on synthetic gradients, against hand computations.
final class TaylorImportanceTests: XCTestCase {
    /// A 2 × 2 matrix worked by hand:
    ///   W = [[1, −2], [3, 4]], G = [[0.5, 1], [−1, 2]], F = [[1, 1], [2, 0.5]]
    ///   first  |W·G|            = [[0.5, 2], [3, 8]]     rows 2.5, 11   columns 3.5, 10
    ///   second |W·F·W|          = [[1, 4], [18, 8]]      rows 5, 26
    ///   mix    |W·G − ½W·F·W|   = [[0, 4], [12, 4]]      rows 4, 16
    ///   vectorize |Σ_row W·G|   = |0.5 − 2|, |−3 + 8|    rows 1.5, 5
    ///   l1 rows 3, 7; l2 rows 5, 25
    func testChannelSalienceByHand() {
        let w: [Float] = [1, -2, 3, 4], g: [Float] = [0.5, 1, -1, 2], f: [Float] = [1, 1, 2, 0.5]
        func rows(_ e: ChannelSalience.Element) -> [Double] {
            ChannelSalience(e).scores(weight: w, gradient: g, fisher: f, rows: 2, cols: 2, alongRows: true)
        }
        XCTAssertEqual(rows(.taylor(.first)), [2.5, 11])
        XCTAssertEqual(ChannelSalience(.taylor(.first)).scores(weight: w, gradient: g, fisher: f, rows: 2, cols: 2, alongRows: false), [3.5, 10])
        XCTAssertEqual(rows(.taylor(.second)), [5, 26])
        XCTAssertEqual(rows(.taylor(.mix)), [4, 16])
        XCTAssertEqual(rows(.taylor(.vectorize)), [1.5, 5])
        XCTAssertEqual(rows(.l1), [3, 7])
        XCTAssertEqual(rows(.l2), [5, 25])
    }

    func tinyModel() throws -> LlamaModel {
        let dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Fixtures/tiny/llama-gqa-untied")
        return try LlamaModel(checkpoint: try HFCheckpoint(directory: dir.path))
    }

    /// Gradients filled from a seeded Gaussian (Fisher: their squares plus a constant).
    func synthetic(_ model: LlamaModel, seed: UInt64, square: Bool) -> ModelGradients {
        var g = ModelGradients(like: model)
        var rng = SeededRNG(seed: seed)
        func fill(_ a: inout [Float]) { for i in a.indices { let x = rng.nextGaussian(); a[i] = square ? x * x + 0.1 : x } }
        fill(&g.embedding); fill(&g.finalNorm)
        if g.lmHead != nil { fill(&g.lmHead!) }
        for i in g.layers.indices {
            fill(&g.layers[i].inputNorm); fill(&g.layers[i].postAttentionNorm)
            for p in Projection.allCases { fill(&g.layers[i][p].weight) }
        }
        return g
    }

    func testGroupScoresMatchAHandComputation() throws {
        let m = try tinyModel()
        let stats = TaylorStatistics(gradient: synthetic(m, seed: 1, square: false), fisher: synthetic(m, seed: 2, square: true), windows: 1)
        let d = m.hiddenSize
        for order in TaylorOrder.allCases {
            func e(_ w: Float, _ g: Float, _ f: Float) -> Double {
                let w = Double(w), g = Double(g), f = Double(f)
                switch order {
                case .first: return abs(w * g)
                case .second: return abs(w * w * f)
                case .mix: return abs(w * g - 0.5 * w * w * f)
                case .vectorize: return w * g
                }
            }
            for agg in [GroupAggregation.sum, .max] {
                let imp = try GroupImportance(criterion: .taylor, taylorOrder: order, aggregation: agg, statistics: stats)
                for i in 0..<m.layers.count {
                    let l = m.layers[i], gl = stats.gradient.layers[i], fl = stats.fisher!.layers[i]
                    // MLP channel c: row c of gate and up, column c of down.
                    let inter = l.intermediateSize
                    let got = imp.mlpChannelScores(m, layer: i)
                    for c in [0, 7, inter - 1] {
                        var parts = [0.0, 0.0, 0.0]
                        for j in 0..<d {
                            parts[0] += e(l.gate.weight[c * d + j], gl.gate.weight[c * d + j], fl.gate.weight[c * d + j])
                            parts[1] += e(l.up.weight[c * d + j], gl.up.weight[c * d + j], fl.up.weight[c * d + j])
                            parts[2] += e(l.down.weight[j * inter + c], gl.down.weight[j * inter + c], fl.down.weight[j * inter + c])
                        }
                        if order == .vectorize { parts = parts.map(abs) }
                        let want = agg == .sum ? parts.reduce(0, +) : parts.max()!
                        XCTAssertEqual(got[c], want, accuracy: 1e-9 * max(1, want), "\(order) \(agg) layer \(i) channel \(c)")
                    }
                    // Attention group h (KV head h, query heads 2h and 2h+1; head_dim 8):
                    // per head channel j, q and o fold the two query heads, then combine, then sum over j.
                    let hd = l.headDim, perKV = l.heads / l.kvHeads, qw = l.heads * hd
                    let att = imp.attentionGroupScores(m, layer: i)
                    for h in 0..<l.kvHeads {
                        var total = 0.0
                        for j in 0..<hd {
                            var q = 0.0, k = 0.0, v = 0.0, o = 0.0
                            for s in 0..<perKV {
                                let row = (h * perKV + s) * hd + j
                                var qs = 0.0, os = 0.0
                                for x in 0..<d {
                                    qs += e(l.q.weight[row * d + x], gl.q.weight[row * d + x], fl.q.weight[row * d + x])
                                    os += e(l.o.weight[x * qw + row], gl.o.weight[x * qw + row], fl.o.weight[x * qw + row])
                                }
                                if order == .vectorize { qs = abs(qs); os = abs(os) }
                                q += qs; o += os
                            }
                            let kr = h * hd + j
                            for x in 0..<d {
                                k += e(l.k.weight[kr * d + x], gl.k.weight[kr * d + x], fl.k.weight[kr * d + x])
                                v += e(l.v.weight[kr * d + x], gl.v.weight[kr * d + x], fl.v.weight[kr * d + x])
                            }
                            if order == .vectorize { k = abs(k); v = abs(v) }
                            total += agg == .sum ? q + k + v + o : max(q, k, v, o)
                        }
                        XCTAssertEqual(att[h], total, accuracy: 1e-9 * max(1, total), "\(order) \(agg) layer \(i) group \(h)")
                    }
                }
            }
        }
    }

    func testCollectAveragesGradientsAndAccumulatesFisher() throws {
        let m = try tinyModel()
        let g1 = synthetic(m, seed: 5, square: false), g2 = synthetic(m, seed: 6, square: false)
        let windows: [[Int32]] = [[1, 2], [3, 4]]
        let stats = try TaylorStatistics.collect(model: m, windows: windows, withFisher: true) { _, w in w[0] == 1 ? g1 : g2 }
        XCTAssertEqual(stats.windows, 2)
        for idx in [0, 17, 300] {
            let a = g1.layers[1].up.weight[idx], b = g2.layers[1].up.weight[idx]
            XCTAssertEqual(stats.gradient.layers[1].up.weight[idx], (a + b) / 2, accuracy: 1e-6)
            XCTAssertEqual(stats.fisher!.layers[1].up.weight[idx], (a * a + b * b) / 2, accuracy: 1e-6)
        }
    }

    func testTaylorPipelineUsesTheProvider() throws {
        let m = try tinyModel()
        // Gradients that make MLP channel 3 of layer 0 by far the most important, and channel 5 the least.
        var g = ModelGradients(like: m)
        for i in g.layers.indices { for p in Projection.allCases { for j in g.layers[i][p].weight.indices { g.layers[i][p].weight[j] = 1 } } }
        let d = m.hiddenSize
        for j in 0..<d { g.layers[0].gate.weight[3 * d + j] = 1000; g.layers[0].gate.weight[5 * d + j] = 0; g.layers[0].up.weight[5 * d + j] = 0 }
        for r in 0..<d { g.layers[0].down.weight[r * 40 + 5] = 0 }
        var calls = 0
        let provider: TaylorStatisticsProvider = { model, windows in
            calls += 1
            XCTAssertEqual(windows.count, 2)
            return TaylorStatistics(gradient: g, fisher: nil, windows: windows.count)
        }
        let c = StructuredPruneConfiguration(criterion: .taylor, ratio: 0.05, attentionLayers: 0...0, mlpLayers: 0...0, taylorOrder: .first)
        let r = try StructuredPruner.prune(m, configuration: c, calibration: [[1, 2], [3, 4]], taylor: provider)
        XCTAssertEqual(calls, 1)
        XCTAssertTrue(r.plan.keptMLPChannels[0].contains(3))
        XCTAssertFalse(r.plan.keptMLPChannels[0].contains(5))
        XCTAssertEqual(r.report.taylorOrder, "first")
        XCTAssertEqual(r.report.ratioActual, 0.05, accuracy: 0.005)
    }

    func testTaylorPruningWithTheRealBackwardPass() throws {
        let m = try tinyModel()
        let windows: [[Int32]] = [(0..<16).map { Int32($0 * 7 % 48) }, (0..<16).map { Int32(($0 * 5 + 3) % 48) }]
        let provider: TaylorStatisticsProvider = { model, w in
            try TaylorStatistics.collect(model: model, windows: w, withFisher: true) { try $0.gradients(tokens: $1).gradients }
        }
        let stats = try provider(m, windows)
        // Mean of the two windows' gradients.
        let g0 = try m.gradients(tokens: windows[0]).gradients, g1 = try m.gradients(tokens: windows[1]).gradients
        XCTAssertEqual(stats.gradient.layers[0].q.weight[5], (g0.layers[0].q.weight[5] + g1.layers[0].q.weight[5]) / 2, accuracy: 1e-6)
        for order in TaylorOrder.allCases {
            let c = StructuredPruneConfiguration(criterion: .taylor, ratio: 0.3, attentionLayers: 0...1, mlpLayers: 0...1, taylorOrder: order)
            let r = try StructuredPruner.prune(m, configuration: c, calibration: windows, taylor: provider)
            XCTAssertEqual(r.report.ratioActual, 0.3, accuracy: 0.005, "\(order)")
            XCTAssertEqual(r.report.calibrationWindows, 2)
        }
    }
}
