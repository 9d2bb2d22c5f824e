import XCTest
import Compute
@testable import Pruning
import LLM
import ModelIO

/// Issue 17, done-means 2: the gradient-based (gradient, taylor, gblm) and entropy scores give
/// exact masks, and the masks agree with a PyTorch reference that prunes the same tiny Llama the
/// way the reference code does (scripts/make_gradient_score_fixtures.py: gradients by autograd,
/// GBLM's Wanda term from hooks on the model pruned so far, torch's stable sort / topk).
final class GradientScoreTests: XCTestCase {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Fixtures")
    static let tiny = fixtures.appendingPathComponent("tiny/llama-gqa-untied").path
    static let reference = fixtures.appendingPathComponent("gradient-scores/llama-gqa-untied.safetensors").path

    func model() throws -> LlamaModel { try LlamaModel(checkpoint: try HFCheckpoint(directory: Self.tiny)) }

    /// The reference's windows: window s, position t → (7s + 13t) mod 48.
    let calibration: [[Int32]] = (0..<4).map { s in (0..<16).map { Int32((s * 7 + $0 * 13) % 48) } }

    let methods: [PruneMethod] = [.gradient, .taylor, .gblm, .entropy]
    let patterns: [(String, SparsityPattern)] = [("unstructured", .unstructured), ("2of4", .nOfM(n: 2, m: 4))]

    func testMasksAgreeWithTheReferenceAndAreExact() throws {
        let ref = try SafetensorsFile(path: Self.reference)
        for method in methods {
            for (tag, pattern) in patterns {
                let m = try model()
                let c = PruneConfiguration(method: method, pattern: pattern, sparsity: 0.5)
                _ = try LayerwisePruner(model: m, configuration: c).run(calibration: calibration)
                var agree = 0, total = 0
                for (i, layer) in m.layers.enumerated() {
                    for p in Projection.allCases {
                        let lin = layer[p]
                        let name = "model.layers.\(i).\(LlamaTensorNames.module(p)).weight"
                        let expected = try ref.loadFloat32("\(method.rawValue).\(tag).\(name)")
                        XCTAssertEqual(expected.count, lin.weight.count, name)
                        for (a, b) in zip(lin.weight, expected) { total += 1; if (a == 0) == (b == 0) { agree += 1 } }
                        // Exact counts: half of every row, or 2 of every 4 consecutive inputs.
                        for r in 0..<lin.outFeatures {
                            let row = lin.weight[(r * lin.inFeatures)..<((r + 1) * lin.inFeatures)]
                            if case .nOfM = pattern {
                                for g in stride(from: row.startIndex, to: row.endIndex, by: 4) {
                                    XCTAssertEqual(row[g..<(g + 4)].filter { $0 == 0 }.count, 2, "\(method) \(name) row \(r)")
                                }
                            } else {
                                XCTAssertEqual(row.filter { $0 == 0 }.count, lin.inFeatures / 2, "\(method) \(name) row \(r)")
                            }
                        }
                    }
                }
                // Float32 gradients from two engines differ in the last bits; a weight whose two
                // scores are that close may fall on either side.
                XCTAssertGreaterThanOrEqual(Double(agree) / Double(total), 0.995, "\(method) \(tag): \(agree)/\(total) mask positions agree")
            }
        }
    }

    func testSameCalibrationGivesTheSameMask() throws {
        for method in [PruneMethod.gradient, .gblm] {
            let a = try model(), b = try model()
            let c = PruneConfiguration(method: method, sparsity: 0.4)
            _ = try LayerwisePruner(model: a, configuration: c).run(calibration: calibration)
            _ = try LayerwisePruner(model: b, configuration: c).run(calibration: calibration)
            for (x, y) in zip(a.layers, b.layers) { for p in Projection.allCases { XCTAssertEqual(x[p].weight, y[p].weight) } }
        }
    }

    func testGradientStatisticsFollowTheirDefinitions() throws {
        let m = try model()
        let per = try calibration.map { try m.gradients(tokens: $0).gradients }
        let name = "model.layers.1.mlp.up_proj.weight"
        let g = per.map { $0[name] }
        let l1 = try CalibrationGradients.collect(model: m, windows: calibration, method: .gradient).values(of: name)
        let mean = try CalibrationGradients.collect(model: m, windows: calibration, method: .taylor).values(of: name)
        let l2 = try CalibrationGradients.collect(model: m, windows: calibration, method: .gblm).values(of: name)
        for j in stride(from: 0, to: g[0].count, by: 37) {
            let xs = g.map { Double($0[j]) }
            XCTAssertEqual(Double(l1[j]), xs.map(abs).reduce(0, +) / 4, accuracy: 1e-6 * (1 + abs(xs[0])))
            XCTAssertEqual(Double(mean[j]), xs.reduce(0, +) / 4, accuracy: 1e-6 * (1 + abs(xs[0])))
            XCTAssertEqual(Double(l2[j]), xs.map { $0 * $0 }.reduce(0, +).squareRoot(), accuracy: 1e-6 * (1 + abs(xs[0])))
        }
    }

    func testEntropyOfAColumn() {
        // One column (rows 3): shares 1/6, 2/6, 3/6 of |W|; a zero weight scores 0.
        let s = ImportanceScore.entropy([1, 0, -2, 0, 3, 0], rows: 3, cols: 2)
        let p: [Double] = [1.0 / 6, 2.0 / 6, 3.0 / 6]
        for (k, q) in p.enumerated() { XCTAssertEqual(Double(s[k * 2]), -q * log(q), accuracy: 1e-6) }
        XCTAssertEqual(s[1], 0); XCTAssertEqual(s[3], 0); XCTAssertEqual(s[5], 0)
    }

    func testSettingsTheGradientMethodsRefuse() throws {
        let m = try model()
        // No calibration windows: no gradient.
        XCTAssertThrowsError(try LayerwisePruner(model: m, configuration: PruneConfiguration(method: .taylor, sparsity: 0.5)).run(calibration: [])) {
            XCTAssertTrue("\($0)".contains("calibration"), "\($0)")
        }
        // Streaming cannot take a whole-model backward first.
        XCTAssertThrowsError(try LayerwisePruner.checkStreamable(PruneConfiguration(method: .gblm, sparsity: 0.5))) {
            XCTAssertTrue("\($0)".contains("without streaming"), "\($0)")
        }
        // One-pass order is about activation statistics: gradient has none, gblm has.
        var c = PruneConfiguration(method: .gradient, sparsity: 0.5); c.order = .onePass
        XCTAssertThrowsError(try c.validate(layerCount: 2))
        c.method = .gblm
        XCTAssertNoThrow(try c.validate(layerCount: 2))
        c.gblmScale = -1
        XCTAssertThrowsError(try c.validate(layerCount: 2))
    }
}
