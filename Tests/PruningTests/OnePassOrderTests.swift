import XCTest
@testable import Pruning
import LLM
import ModelIO

/// `--order one-pass` (SparseGPT's true-sequential): each projection's statistics are taken with the
/// projections before it already pruned, in one forward per layer.
final class OnePassOrderTests: XCTestCase {
    func model() throws -> LlamaModel { try LlamaModel(checkpoint: try HFCheckpoint(directory: PostTrainingPruningTests.tiny)) }

    func calibration(_ n: Int = 4, _ len: Int = 16) -> [[Int32]] {
        (0..<n).map { s in (0..<len).map { Int32((s * 5 + $0 * 11) % 48) } }
    }

    func prune(_ c: PruneConfiguration) throws -> LlamaModel {
        let m = try model()
        _ = try LayerwisePruner(model: m, configuration: c).run(calibration: calibration())
        return m
    }

    func config(_ method: PruneMethod, _ order: PruneOrder, matrices: [Projection] = Projection.allCases,
                pattern: SparsityPattern = .unstructured) -> PruneConfiguration {
        var c = PruneConfiguration(method: method, pattern: pattern, sparsity: 0.5, matrices: matrices)
        c.order = order
        return c
    }

    func testStagedLayerEqualsTheFusedForward() throws {
        let m = try model()
        for window in calibration(2, 12) {
            var fused = try m.embed(window)
            var staged = fused
            for i in m.layers.indices {
                try m.runLayers(i..<(i + 1), hidden: &fused)
                var cursor = BlockCursor(hidden: staged)
                for stop in [LinearInputSite.attentionInput, .attentionOutput, .mlpInput, .mlpHidden, nil] {
                    m.runLayer(i, cursor: &cursor, to: stop, observer: nil)
                }
                staged = cursor.hidden
                for j in fused.indices { XCTAssertEqual(staged[j], fused[j], accuracy: 1e-5 * max(1, abs(fused[j]))) }
            }
        }
    }

    /// Projections that read the first site of the first layer see the same (dense) input in both
    /// orders, so their masks must be identical.
    func testFirstSiteOfFirstLayerMatchesTheReferenceOrder() throws {
        for method in [PruneMethod.wanda, .sparsegpt] {
            let a = try prune(config(method, .reference)), b = try prune(config(method, .onePass))
            for p in [Projection.q, .k, .v] {
                XCTAssertEqual(a.layers[0][p].weight, b.layers[0][p].weight, "\(method) \(p)")
            }
        }
    }

    /// The down projection's Wanda statistics in one-pass order are the column norms of
    /// silu(gate·x)·up·x computed with gate and up (and the attention) already pruned: recompute
    /// them independently from the final pruned model and check down's mask.
    func testDownIsScoredOnActivationsOfThePrunedGateAndUp() throws {
        let dense = try model()
        let pruned = try prune(config(.wanda, .onePass))
        let windows = calibration()
        // Layer 0 inputs do not depend on pruning; its pruned MLP activations come from the final weights.
        var sums = [Double](repeating: 0, count: pruned.layers[0].intermediateSize)
        for w in windows {
            var cursor = BlockCursor(hidden: try pruned.embed(w))
            pruned.runLayer(0, cursor: &cursor, to: .mlpHidden, observer: nil)
            let a = cursor.site.prefix(w.count * sums.count)
            for (j, v) in a.enumerated() { sums[j % sums.count] += Double(v) * Double(v) }
        }
        let scaler = sums.map { Float($0 / Double(windows.count)) }   // Wanda's scaler_row: Σ‖X_j‖² / windows
        let down = dense.layers[0].down
        let expected = MaskSelection.perRow(
            scores: ImportanceScore.wanda(down.weight, rows: down.outFeatures, cols: down.inFeatures, scaler: scaler),
            rows: down.outFeatures, cols: down.inFeatures, sparsity: 0.5)
        let got = pruned.layers[0].down.weight.map { $0 == 0 }
        XCTAssertEqual(got, expected)

        // …and differs from the reference order's, whose statistics come from the dense MLP.
        let reference = try prune(config(.wanda, .reference))
        XCTAssertNotEqual(reference.layers[0].down.weight.map { $0 == 0 }, got)
    }

    func testOnePassKeepsExactCountsAndIsDeterministic() throws {
        let a = try prune(config(.wanda, .onePass, pattern: .nOfM(n: 2, m: 4)))
        let b = try prune(config(.wanda, .onePass, pattern: .nOfM(n: 2, m: 4)))
        for i in a.layers.indices { for p in Projection.allCases {
            XCTAssertEqual(a.layers[i][p].weight, b.layers[i][p].weight)
            let w = a.layers[i][p].weight
            for g in stride(from: 0, to: w.count, by: 4) { XCTAssertEqual(w[g..<(g + 4)].filter { $0 == 0 }.count, 2) }
        } }
    }

    func testOnePassWithoutCalibrationStatisticsIsRefused() {
        var c = PruneConfiguration(method: .magnitude, sparsity: 0.5)
        c.order = .onePass
        XCTAssertThrowsError(try c.validate(layerCount: 2)) { XCTAssertTrue("\($0)".contains("one-pass"), "\($0)") }
    }
}
