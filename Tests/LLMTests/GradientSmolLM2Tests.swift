import XCTest
import Foundation
import LLM
import TestSupport
import ModelIO

/// The backward pass on the real default model (SmolLM2-135M, GGUF Q4_1 dequantized):
/// the loss it reports is the ordinary forward's loss, every gradient is finite and nonzero.
/// With SECATEUR_BENCH=1 it also prints seconds per window at 64 and 256 tokens
/// (informational only; figures are recorded in BENCHMARKS.md, not asserted).
final class GradientSmolLM2Tests: XCTestCase {
    func smolLM2() throws -> LlamaModel {
        let p = try smolLM2GGUFPath()
        return try LlamaModel(checkpoint: try GGUFCheckpoint(path: p))
    }

    /// Deterministic pseudo-random token ids (a 64-bit LCG), the same on every run.
    func window(_ length: Int, vocab: Int, seed: UInt64) -> [Int32] {
        var s = seed
        return (0..<length).map { _ in
            s = s &* 6364136223846793005 &+ 1442695040888963407
            return Int32((s >> 33) % UInt64(vocab))
        }
    }

    func testLossEqualsForwardAndGradientsAreFinite() throws {
        let m = try smolLM2()
        let tokens = window(64, vocab: m.vocabSize, seed: 1)
        let (loss, g) = try m.gradients(tokens: tokens)
        var h = try m.embed(tokens)
        try m.runLayers(0..<m.layers.count, hidden: &h)
        let nll = m.nextTokenNLL(hidden: h, targets: Array(tokens.dropFirst()) + [-1]).dropLast()
        let forward = nll.reduce(0.0) { $0 + Double($1) } / Double(nll.count)
        XCTAssertEqual(Double(loss), forward, accuracy: 1e-5 * forward)
        XCTAssertNil(g.lmHead, "SmolLM2 ties its head to the embedding")
        func check(_ v: [Float], _ name: String) {
            XCTAssertTrue(allFinite(v), "\(name) has non-finite gradients")
            XCTAssertTrue(v.contains { $0 != 0 }, "\(name) gradient is all zero")
        }
        check(g.embedding, "embedding"); check(g.finalNorm, "final norm")
        for (i, l) in g.layers.enumerated() {
            check(l.inputNorm, "layer \(i) input norm"); check(l.postAttentionNorm, "layer \(i) post-attention norm")
            for p in Projection.allCases { check(l[p].weight, "layer \(i) \(p)") }
        }

        guard ProcessInfo.processInfo.environment["SECATEUR_BENCH"] == "1" else { return }
        for length in [64, 256] {
            let t = window(length, vocab: m.vocabSize, seed: 2)
            var acc = ModelGradients(like: m)
            _ = try m.accumulateGradients(tokens: t, into: &acc)          // warm-up
            let reps = 3
            let t0 = Date()
            for _ in 0..<reps { _ = try m.accumulateGradients(tokens: t, into: &acc) }
            let dt = Date().timeIntervalSince(t0) / Double(reps)
            print(String(format: "SmolLM2-135M gradients, %d tokens: %.3f s per window", length, dt))
        }
    }

    /// The Secateur side of bench/bench_gradients.sh: same windows as the transformers run
    /// recorded in $SECATEUR_GRADIENT_REFERENCE; prints times, their ratio and the largest
    /// deviation. Asserts only loose sanity bounds (loss 1e-4 relative, each kept tensor
    /// max|Δ| ≤ 1e-3·max|g_ref|); the figures themselves go to BENCHMARKS.md.
    func testMatchesTransformersOnSmolLM2() throws {
        guard let path = ProcessInfo.processInfo.environment["SECATEUR_GRADIENT_REFERENCE"] else {
            throw XCTSkip("SECATEUR_GRADIENT_REFERENCE not set (run bench/bench_gradients.sh)")
        }
        let m = try smolLM2()
        let f = try SafetensorsFile(path: path)
        let prefixes = f.tensorNames.filter { $0.hasSuffix(".input_ids") }.map { String($0.dropLast(9)) }
            .sorted { Int($0.dropFirst().dropLast())! < Int($1.dropFirst().dropLast())! }
        XCTAssertFalse(prefixes.isEmpty)
        for p in prefixes {
            let tokens = try f.loadInts(p + "input_ids").map { Int32($0) }
            let refLoss = try f.loadFloat32(p + "loss")[0], refSeconds = try f.loadFloat32(p + "seconds")[0]
            var g = ModelGradients(like: m)
            let loss = try m.accumulateGradients(tokens: tokens, into: &g)    // also the warm-up
            var timing = ModelGradients(like: m)
            var best = Double.infinity
            for _ in 0..<2 {
                let t0 = Date()
                _ = try m.accumulateGradients(tokens: tokens, into: &timing)
                best = min(best, Date().timeIntervalSince(t0))
            }
            var ours = GradientTests.named(g)
            let rows = try f.loadInts(p + "embed_row_ids"), d = m.hiddenSize
            ours["embed_rows"] = rows.flatMap { g.embedding[($0 * d)..<($0 * d + d)] }
            var worst: (ratio: Float, name: String) = (0, ""), count = 0
            for n in f.tensorNames where n.hasPrefix(p + "grad.") {
                let name = String(n.dropFirst(p.count + 5))
                let r = try f.loadFloat32(n)
                guard let o = ours[name], o.count == r.count else { XCTFail("\(name) missing or misshapen"); continue }
                let scale = r.map(abs).max()!
                let dev = zip(o, r).map { abs($0 - $1) }.max()! / scale
                XCTAssertLessThanOrEqual(dev, 1e-3, "\(p)\(name)")
                if dev > worst.ratio { worst = (dev, name) }
                count += 1
            }
            XCTAssertEqual(loss, refLoss, accuracy: 1e-4 * refLoss)
            print(String(format: "secateur T=%d: %.3f s per window, transformers %.3f s", tokens.count, best, refSeconds))
            print(String(format: "ratio transformers/secateur T=%d: %.2f", tokens.count, Double(refSeconds) / best))
            print("  T=\(tokens.count): loss \(loss) vs \(refLoss); over \(count) gradient tensors the largest "
                  + "max|Δ|/max|g_ref| is \(worst.ratio) (\(worst.name))")
        }
    }
}
