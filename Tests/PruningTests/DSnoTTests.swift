import XCTest
@testable import Pruning
import LLM
import ModelIO

/// Issue 17, done-means 3 (the tiny part): DSnoT's swaps keep every row's sparsity exact and land
/// where DSnoT's own code (zyxxmu/DSnoT `prune_DSnoT`, run by scripts/make_dsnot_fixtures.py on
/// the same tiny Llama and windows) lands.
final class DSnoTTests: XCTestCase {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Fixtures")
    static let tiny = fixtures.appendingPathComponent("tiny/llama-gqa-untied").path
    static let reference = fixtures.appendingPathComponent("dsnot/llama-gqa-untied.safetensors").path

    let calibration: [[Int32]] = (0..<4).map { s in (0..<16).map { Int32((s * 7 + $0 * 13) % 48) } }

    func model() throws -> LlamaModel { try LlamaModel(checkpoint: try HFCheckpoint(directory: Self.tiny)) }

    /// The fixture's settings: every projection, 3 rounds, threshold 0.
    func configuration(_ initial: PruneMethod) -> PruneConfiguration {
        var c = PruneConfiguration(method: .dsnot, sparsity: 0.5)
        c.dsnot.initial = initial; c.dsnot.maxCycles = 3; c.dsnot.updateThreshold = 0; c.dsnot.skip = .none
        return c
    }

    func testMasksAgreeWithDSnoTsCodeAndKeepEveryRowExact() throws {
        let ref = try SafetensorsFile(path: Self.reference)
        for initial in [PruneMethod.wanda, .magnitude] {
            let m = try model(), plain = try model()
            let pruner = try LayerwisePruner(model: m, configuration: configuration(initial))
            _ = try pruner.run(calibration: calibration)
            _ = try LayerwisePruner(model: plain, configuration: PruneConfiguration(method: initial, sparsity: 0.5, group: .row))
                .run(calibration: calibration)
            XCTAssertGreaterThan(pruner.dsnotSwaps, 0)
            var agree = 0, total = 0, movedFromInitial = 0
            for (i, layer) in m.layers.enumerated() {
                for p in Projection.allCases {
                    let lin = layer[p], name = "model.layers.\(i).\(LlamaTensorNames.module(p)).weight"
                    let expected = try ref.loadFloat32("\(initial.rawValue).\(name)")
                    for (a, b) in zip(lin.weight, expected) { total += 1; if (a == 0) == (b == 0) { agree += 1 } }
                    // Layer 0 sees the same inputs in both runs: what moved there is DSnoT's doing.
                    if i == 0 { for (a, b) in zip(lin.weight, plain.layers[0][p].weight) where (a == 0) != (b == 0) { movedFromInitial += 1 } }
                    for r in 0..<lin.outFeatures {
                        XCTAssertEqual(lin.weight[(r * lin.inFeatures)..<((r + 1) * lin.inFeatures)].filter { $0 == 0 }.count,
                                       lin.inFeatures / 2, "\(initial) \(name) row \(r)")
                    }
                }
            }
            XCTAssertGreaterThan(movedFromInitial, 0, "DSnoT moved nothing in layer 0")
            XCTAssertGreaterThanOrEqual(Double(agree) / Double(total), 0.995, "\(initial): \(agree)/\(total) mask positions agree")
        }
    }

    /// One row by hand: d = W·s = [3, −1, 2, −4, 1, −2]; Wanda prunes columns 1, 4 and 5 (lowest
    /// |W|·√scaler), ε = −1 + 1 − 2 = −2 < 0: regrow the most negative pruned (5, d −2), prune the
    /// kept positive with the lowest Wanda score (2, d 2): ε = −2 + 2 + 2 = 2 > 0; regrow the largest
    /// positive pruned (4, d 1) and prune the kept negative with the lowest Wanda score (3, d −4):
    /// ε = 2 − 4 − 1 = −3 … and so on until the threshold or the candidates run out.
    func testOneRowByHand() {
        let w: [Float] = [3, -1, 2, -4, 1, -2]
        let wanda: [Float] = [3, 0.5, 2.5, 4, 1, 1.5]
        var mask = [false, true, false, false, true, true]
        var s = DSnoTSettings(); s.maxCycles = 1; s.updateThreshold = 0; s.skip = .none
        DSnoT.refine(mask: &mask, weight: w, rows: 1, cols: 6, wanda: wanda, columnSum: [Double](repeating: 1, count: 6),
                     variance: [Double](repeating: 1, count: 6), settings: s)
        XCTAssertEqual(mask, [false, true, true, false, true, false])
        s.maxCycles = 2
        mask = [false, true, false, false, true, true]
        DSnoT.refine(mask: &mask, weight: w, rows: 1, cols: 6, wanda: wanda, columnSum: [Double](repeating: 1, count: 6),
                     variance: [Double](repeating: 1, count: 6), settings: s)
        XCTAssertEqual(mask, [false, true, true, true, false, false])
        // A threshold above |ε| = 2: nothing moves.
        s.updateThreshold = 2.5
        mask = [false, true, false, false, true, true]
        XCTAssertEqual(DSnoT.refine(mask: &mask, weight: w, rows: 1, cols: 6, wanda: wanda, columnSum: [Double](repeating: 1, count: 6),
                                    variance: [Double](repeating: 1, count: 6), settings: s), 0)
    }

    /// The same row with the reference's two other options. Same sign (`--without_same_sign False`):
    /// the first swap would take ε from −2 to +2, so the row stops before it. Variance power 1 with
    /// column 5's variance 4: the regrowth ranks d/Var are −1 (column 1) and −0.5 (column 5), so
    /// column 1 is regrown where power 0 (plain d: −1 against −2) regrows column 5.
    func testSameSignAndVariancePowerByHand() {
        let w: [Float] = [3, -1, 2, -4, 1, -2]
        let wanda: [Float] = [3, 0.5, 2.5, 4, 1, 1.5]
        let sums = [Double](repeating: 1, count: 6)
        var s = DSnoTSettings(); s.maxCycles = 2; s.updateThreshold = 0; s.skip = .none; s.sameSign = true
        var mask = [false, true, false, false, true, true]
        XCTAssertEqual(DSnoT.refine(mask: &mask, weight: w, rows: 1, cols: 6, wanda: wanda, columnSum: sums,
                                    variance: [Double](repeating: 1, count: 6), settings: s), 0)
        XCTAssertEqual(mask, [false, true, false, false, true, true])
        s.sameSign = false; s.maxCycles = 1
        let variance: [Double] = [1, 1, 1, 1, 1, 4]
        for (power, expected) in [(1.0, [false, false, true, false, true, true]), (0.0, [false, true, true, false, true, false])] {
            s.varianceExponent = power
            mask = [false, true, false, false, true, true]
            DSnoT.refine(mask: &mask, weight: w, rows: 1, cols: 6, wanda: wanda, columnSum: sums, variance: variance, settings: s)
            XCTAssertEqual(mask, expected, "power \(power)")
        }
    }

    func testSettingsDSnoTRefuses() {
        var c = PruneConfiguration(method: .dsnot, pattern: .nOfM(n: 2, m: 4), sparsity: 0.5)
        XCTAssertThrowsError(try c.validate(layerCount: 2))
        c = PruneConfiguration(method: .dsnot, sparsity: 0.5); c.dsnot.initial = .sparsegpt
        XCTAssertThrowsError(try c.validate(layerCount: 2)) { XCTAssertTrue("\($0)".contains("sparsegpt"), "\($0)") }
        c.dsnot.initial = .wanda; c.dsnot.maxCycles = -1
        XCTAssertThrowsError(try c.validate(layerCount: 2))
    }
}
