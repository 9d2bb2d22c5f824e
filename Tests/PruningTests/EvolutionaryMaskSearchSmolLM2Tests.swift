import XCTest
@testable import Pruning
import Compute
import LLM
import ModelIO
import TestSupport

/// Does the layer-wise search's fitness carry over to calibration tokens it did not see? On SmolLM2-135M
/// (dense, layers 0…`layer`), Wanda 2:4 masks of several projections are searched with the Hessian of
/// 4 C4 windows (held out: 2 more, unless SECATEUR_ES_HELD_OUT=0) and their reconstruction error measured
/// on 2 other windows. Opt-in (a minute or more):
/// set SECATEUR_ES_DIAGNOSTIC=1; it prints the table and asserts only that the searched windows improve.
final class EvolutionaryMaskSearchSmolLM2Tests: XCTestCase {
    func testHeldOutReconstructionError() throws {
        let env = ProcessInfo.processInfo.environment
        guard env["SECATEUR_ES_DIAGNOSTIC"] == "1" else { throw XCTSkip("set SECATEUR_ES_DIAGNOSTIC=1") }
        let calib = env["SECATEUR_ES_CALIB"] ?? NSHomeDirectory() + "/.cache/secateur/calib/c4_8x1024_seed0.i32"
        guard FileManager.default.fileExists(atPath: calib) else { throw XCTSkip("no calibration token file at \(calib)") }
        let m = try LlamaModel(checkpoint: try GGUFCheckpoint(file: try GGUFFile(path: try smolLM2GGUFPath())))
        let windows = try Calibration.fromTokenFile(calib, seqlen: 1024, nsamples: 8, vocabSize: m.vocabSize)
        let generations = Int(env["SECATEUR_ES_GENERATIONS"] ?? "100") ?? 100
        for layer in (env["SECATEUR_ES_LAYERS"] ?? "2,15").split(separator: ",").compactMap({ Int($0) }) {
            var hidden = try windows.map { try m.embed($0) }
            for i in 0..<layer { for s in hidden.indices { try m.runLayers(i..<(i + 1), hidden: &hidden[s]) } }
            var train: [LinearInputSite: HessianAccumulator] = [:], test: [LinearInputSite: HessianAccumulator] = [:]
            var validation: [LinearInputSite: HessianAccumulator] = [:]
            let useHeldOut = env["SECATEUR_ES_HELD_OUT"] != "0"
            var testNoSink: [LinearInputSite: HessianAccumulator] = [:]   // without each window's first 4 tokens
            var norms: [LinearInputSite: ActivationNorms] = [:]
            for s in hidden.indices {
                var h = hidden[s]
                try m.runLayers(layer..<(layer + 1), hidden: &h, observer: { site, x, rows, cols in
                    if s >= 4 && s < 6 {
                        (validation[site] ?? { let a = HessianAccumulator(cols: cols); validation[site] = a; return a }()).add(x, rows: rows)
                    }
                    if s < 6 && (s < 4 || !useHeldOut) {
                        (train[site] ?? { let a = HessianAccumulator(cols: cols); train[site] = a; return a }()).add(x, rows: rows)
                        (norms[site] ?? { let a = ActivationNorms(columns: cols); norms[site] = a; return a }()).add(x, rows: rows)
                    } else if s >= 6 {
                        (test[site] ?? { let a = HessianAccumulator(cols: cols); test[site] = a; return a }()).add(x, rows: rows)
                        (testNoSink[site] ?? { let a = HessianAccumulator(cols: cols); testNoSink[site] = a; return a }()).add(x + 4 * cols, rows: rows - 4)
                    }
                })
            }
            for p in [Projection.q, .o, .gate, .down] {
                let lin = m.linear(p, layer: layer)
                let scores = ImportanceScore.wanda(lin.weight, rows: lin.outFeatures, cols: lin.inFeatures, scaler: norms[p.inputSite]!.scaler)
                var mask = try MaskSelection.nOfM(scores: scores, rows: lin.outFeatures, cols: lin.inFeatures, n: 2, m: 4)
                let start = mask
                var s = EvolutionarySearchSettings(); s.generations = generations
                let out = try EvolutionaryMaskSearch.search(mask: &mask, dense: lin.weight, rows: lin.outFeatures, cols: lin.inFeatures,
                                                            hessian: train[p.inputSite]!.hessian,
                                                            heldOutHessian: useHeldOut ? validation[p.inputSite]!.hessian : nil, scores: scores,
                                                            groups: .nOfM(n: 2, m: 4, permutation: nil), settings: s)
                let testBefore = EvolutionaryMaskSearch.reconstructionError(mask: start, dense: lin.weight, rows: lin.outFeatures,
                                                                            cols: lin.inFeatures, hessian: test[p.inputSite]!.hessian)
                let testAfter = EvolutionaryMaskSearch.reconstructionError(mask: mask, dense: lin.weight, rows: lin.outFeatures,
                                                                           cols: lin.inFeatures, hessian: test[p.inputSite]!.hessian)
                let h = testNoSink[p.inputSite]!.hessian
                let nsBefore = EvolutionaryMaskSearch.reconstructionError(mask: start, dense: lin.weight, rows: lin.outFeatures, cols: lin.inFeatures, hessian: h)
                let nsAfter = EvolutionaryMaskSearch.reconstructionError(mask: mask, dense: lin.weight, rows: lin.outFeatures, cols: lin.inFeatures, hessian: h)
                print(String(format: "layer %2d %-4@ searched windows %.4g → %.4g (%.3f)   held-out windows %.4g → %.4g (%.3f)   held-out without first 4 tokens %.4g → %.4g (%.3f)",
                             layer, p.rawValue, out.initialError, out.finalError, out.finalError / out.initialError,
                             testBefore, testAfter, testAfter / testBefore, nsBefore, nsAfter, nsAfter / nsBefore))
                XCTAssertLessThan(out.finalError, out.initialError)
            }
        }
    }
}
