import Compute
import XCTest
@testable import Pruning
import LLM
import ModelIO

/// The whole-model (1+1)-ES (issue 17): it starts from the layer-wise masks, keeps every row's
/// count and every N:M block exact, never raises the calibration loss it selects on nor the
/// held-out loss, reports losses that are the model's own, and is seeded.
final class WholeModelMaskSearchTests: XCTestCase {
    let calibration: [[Int32]] = (0..<4).map { s in (0..<16).map { Int32((s * 7 + $0 * 13) % 48) } }

    func model() throws -> LlamaModel { try LlamaModel(checkpoint: try HFCheckpoint(directory: EvolutionaryMaskSearchTests.tiny)) }

    func configuration(_ pattern: SparsityPattern, generations: Int, seed: UInt64 = 0) -> PruneConfiguration {
        var c = PruneConfiguration(method: .es, pattern: pattern, sparsity: 0.5)
        c.es.generations = 0; c.es.modelGenerations = generations; c.es.flipRate = 0.05; c.es.seed = seed
        c.es.heldOutShare = 0.25     // 3 search windows, 1 held out
        return c
    }

    func testStartsFromTheLayerwiseMasksKeepsBlocksExactAndNeverRaisesTheLoss() throws {
        let start = try model()
        let r0 = try LayerwisePruner(model: start, configuration: configuration(.nOfM(n: 2, m: 4), generations: 0)).run(calibration: calibration)
        XCTAssertNil(r0.wholeModelSearch)
        let searched = try model()
        let r = try LayerwisePruner(model: searched, configuration: configuration(.nOfM(n: 2, m: 4), generations: 40)).run(calibration: calibration)
        let o = try XCTUnwrap(r.wholeModelSearch)
        let search = Array(calibration[..<3]), heldOut = [calibration[3]]
        // The start is the layer-wise result; the end is the model as it stands.
        XCTAssertEqual(o.initialLoss, try LayerRemovalLoss.meanLoss(model: start, windows: search, skipping: nil), accuracy: 1e-9)
        XCTAssertEqual(try XCTUnwrap(o.initialHeldOutLoss), try LayerRemovalLoss.meanLoss(model: start, windows: heldOut, skipping: nil), accuracy: 1e-9)
        XCTAssertEqual(o.finalLoss, try LayerRemovalLoss.meanLoss(model: searched, windows: search, skipping: nil), accuracy: 1e-9)
        XCTAssertLessThan(o.finalLoss, o.initialLoss, "40 generations found a better mask")
        XCTAssertLessThanOrEqual(try XCTUnwrap(o.finalHeldOutLoss), try XCTUnwrap(o.initialHeldOutLoss))
        XCTAssertGreaterThan(o.acceptedChildren, 0)
        XCTAssertGreaterThan(o.changedWeights, 0)
        XCTAssertEqual(r.prunableZeros, r0.prunableZeros, "the zero count moved")
        var differing = 0
        for (i, layer) in searched.layers.enumerated() {
            for p in Projection.allCases {
                let lin = layer[p], dense = try model().layers[i][p].weight
                for row in 0..<lin.outFeatures {
                    for b in stride(from: 0, to: lin.inFeatures, by: 4) {
                        XCTAssertEqual((b..<(b + 4)).filter { lin.weight[row * lin.inFeatures + $0] == 0 }.count, 2, "layer \(i) \(p) row \(row) block \(b)")
                    }
                }
                // Every kept weight holds its dense value (Wanda start: no update).
                for k in lin.weight.indices where lin.weight[k] != 0 { XCTAssertEqual(lin.weight[k], dense[k]) }
                differing += zip(lin.weight, start.layers[i][p].weight).filter { ($0 == 0) != ($1 == 0) }.count
            }
        }
        XCTAssertEqual(differing, o.changedWeights)
    }

    func testRowCountsAndSeed() throws {
        func run(seed: UInt64) throws -> LlamaModel {
            let m = try model()
            _ = try LayerwisePruner(model: m, configuration: configuration(.unstructured, generations: 25, seed: seed)).run(calibration: calibration)
            return m
        }
        let a = try run(seed: 4), b = try run(seed: 4), other = try run(seed: 5)
        var anyDifferent = false
        for (i, layer) in a.layers.enumerated() {
            for p in Projection.allCases {
                let lin = layer[p]
                XCTAssertEqual(lin.weight, b.layers[i][p].weight, "same seed, layer \(i) \(p)")
                anyDifferent = anyDifferent || lin.weight != other.layers[i][p].weight
                for row in 0..<lin.outFeatures {
                    XCTAssertEqual(lin.weight[(row * lin.inFeatures)..<((row + 1) * lin.inFeatures)].filter { $0 == 0 }.count,
                                   MaskSelection.pruneCount(lin.inFeatures, sparsity: 0.5), "layer \(i) \(p) row \(row)")
                }
            }
        }
        XCTAssertTrue(anyDifferent, "another seed searches otherwise")
    }

    func testRefusals() throws {
        var c = configuration(.unstructured, generations: 5)
        XCTAssertThrowsError(try LayerwisePruner.checkStreamable(c)) { XCTAssertTrue("\($0)".contains("whole-model mask search"), "\($0)") }
        c.es.modelGenerations = -1
        XCTAssertThrowsError(try c.es.validate()) { XCTAssertTrue("\($0)".contains("generations ≥ 0"), "\($0)") }
        var matrices: [WholeModelMaskSearch.Matrix] = []
        XCTAssertThrowsError(try WholeModelMaskSearch.search(model: try model(), matrices: &matrices, windows: calibration, generations: 1,
                                                             settings: EvolutionarySearchSettings())) {
            XCTAssertTrue("\($0)".contains("no pruned matrix"), "\($0)")
        }
        matrices = [WholeModelMaskSearch.Matrix(layer: 0, projection: .q, mask: [true], values: [1], scores: [1], groups: .rows)]
        XCTAssertThrowsError(try WholeModelMaskSearch.search(model: try model(), matrices: &matrices, windows: calibration, generations: 1,
                                                             settings: EvolutionarySearchSettings())) {
            XCTAssertTrue("\($0)".contains("must hold"), "\($0)")
        }
    }
}
