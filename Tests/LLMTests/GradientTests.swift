import XCTest
import LLM
import TestSupport
import ModelIO

/// Backward pass against PyTorch: `model(ids, labels=ids).loss.backward()` in float32 on the
/// tiny random models (fixtures: scripts/make_gradient_fixtures.py), plus central finite
/// differences of our own forward loss, which exercise the backward independently of PyTorch.
final class GradientTests: XCTestCase {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Fixtures/gradients")

    static let names = ["llama-gqa-untied", "llama-gqa-tied", "llama3-ropescaling", "mistral", "qwen2"]

    func model(_ name: String) throws -> LlamaModel {
        let dir = TinyModelLogitsTests.fixtures.appendingPathComponent(name).path
        return try LlamaModel(checkpoint: try HFCheckpoint(directory: dir))
    }

    struct Reference {
        var tokens: [Int32]
        var loss: Float
        var gradients: [String: [Float]]
    }

    func reference(_ name: String, window prefix: String = "") throws -> Reference {
        let f = try SafetensorsFile(path: Self.fixtures.appendingPathComponent("\(name).safetensors").path)
        var grads: [String: [Float]] = [:]
        for n in f.tensorNames where n.hasPrefix(prefix + "grad.") {
            grads[String(n.dropFirst(prefix.count + 5))] = try f.loadFloat32(n)
        }
        return Reference(tokens: try f.loadInts(prefix + "input_ids").map { Int32($0) },
                         loss: try f.loadFloat32(prefix + "loss")[0], gradients: grads)
    }

    /// Our gradients under Hugging Face parameter names.
    static func named(_ g: ModelGradients) -> [String: [Float]] {
        var out = ["model.embed_tokens.weight": g.embedding, "model.norm.weight": g.finalNorm]
        if let h = g.lmHead { out["lm_head.weight"] = h }
        let names: [(Projection, String)] = [(.q, "self_attn.q_proj"), (.k, "self_attn.k_proj"), (.v, "self_attn.v_proj"),
                                             (.o, "self_attn.o_proj"), (.gate, "mlp.gate_proj"), (.up, "mlp.up_proj"),
                                             (.down, "mlp.down_proj")]
        for (i, l) in g.layers.enumerated() {
            let p = "model.layers.\(i)."
            out[p + "input_layernorm.weight"] = l.inputNorm
            out[p + "post_attention_layernorm.weight"] = l.postAttentionNorm
            for (proj, n) in names {
                out[p + n + ".weight"] = l[proj].weight
                if let b = l[proj].bias { out[p + n + ".bias"] = b }
            }
        }
        return out
    }

    func assertMatches(_ ours: [String: [Float]], _ ref: [String: [Float]], _ label: String, allowZero: Bool = false,
                       file: StaticString = #filePath, line: UInt = #line) {
        assertGradientsMatch(ours, ref, label, allowZero: allowZero, file: file, line: line)
    }

    func testGradientsMatchPyTorch() throws {
        for name in Self.names {
            let m = try model(name)
            let ref = try reference(name)
            let (loss, g) = try m.gradients(tokens: ref.tokens)
            XCTAssertEqual(loss, ref.loss, accuracy: 1e-5 * ref.loss, "\(name): loss")
            assertMatches(Self.named(g), ref.gradients, name)
            XCTAssertEqual(g.lmHead == nil, m.lmHead == nil, "\(name): tied head ⇔ no separate head gradient")
        }
    }

    /// T = 2, a single prediction: position 0 attends to itself only, so q and k receive
    /// exactly zero gradient (in PyTorch too), and everything else still matches.
    func testShortestWindowMatchesPyTorch() throws {
        let m = try model("llama-gqa-untied")
        let ref = try reference("llama-gqa-untied", window: "c.")
        XCTAssertEqual(ref.tokens.count, 2)
        let (loss, g) = try m.gradients(tokens: ref.tokens)
        XCTAssertEqual(loss, ref.loss, accuracy: 1e-5 * ref.loss)
        assertMatches(Self.named(g), ref.gradients, "llama-gqa-untied T=2", allowZero: true)
        XCTAssertTrue(g.layers.allSatisfy { $0.q.weight.allSatisfy { $0 == 0 } && $0.k.weight.allSatisfy { $0 == 0 } })
        XCTAssertTrue(g.layers[0].v.weight.contains { $0 != 0 })
    }

    /// accumulateGradients(A, scale 1) then (B, scale 0.5) must equal g_A + 0.5·g_B from PyTorch.
    func testAccumulateSumsTwoWindows() throws {
        for name in ["llama-gqa-tied", "qwen2"] {
            let m = try model(name)
            let a = try reference(name), b = try reference(name, window: "b.")
            XCTAssertNotEqual(a.tokens.count, b.tokens.count)
            var g = ModelGradients(like: m)
            let la = try m.accumulateGradients(tokens: a.tokens, into: &g)
            let lb = try m.accumulateGradients(tokens: b.tokens, into: &g, scale: 0.5)
            XCTAssertEqual(la, a.loss, accuracy: 1e-5 * a.loss)
            XCTAssertEqual(lb, b.loss, accuracy: 1e-5 * b.loss, "the returned loss is not scaled")
            var expected = a.gradients
            for (k, v) in b.gradients { expected[k] = zip(expected[k]!, v).map { $0 + 0.5 * $1 } }
            assertMatches(Self.named(g), expected, "\(name) A + 0.5·B")
        }
    }

    /// Mean next-token NLL from the ordinary forward (`nextTokenNLL`), in Double.
    func forwardLoss(_ m: LlamaModel, _ tokens: [Int32]) throws -> Double {
        var h = try m.embed(tokens)
        try m.runLayers(0..<m.layers.count, hidden: &h)
        let nll = m.nextTokenNLL(hidden: h, targets: Array(tokens.dropFirst()) + [-1])
        return nll.dropLast().reduce(0.0) { $0 + Double($1) } / Double(tokens.count - 1)
    }

    /// Central differences (L(w+ε) − L(w−ε)) / 2ε on single weights of different tensors,
    /// each at the entry with the largest analytic gradient and at one fixed other entry.
    /// ε = 1e-2 against weights of size ~0.2: the O(ε²) truncation error is then far below
    /// the tolerance, and the float32 forward's rounding (~1e-6 in L) contributes ~1e-4.
    func testFiniteDifferences() throws {
        for name in ["llama-gqa-untied", "qwen2"] {
            let m = try model(name)
            let tokens = try reference(name).tokens
            let (_, g) = try m.gradients(tokens: tokens)
            var cases: [(String, [Float], (Int, Float) -> Void)] = [
                ("embedding", g.embedding, { i, e in m.embedding[i] += e }),
                ("layers.0.inputNorm", g.layers[0].inputNorm, { i, e in m.layers[0].inputNorm[i] += e }),
                ("layers.1.postAttentionNorm", g.layers[1].postAttentionNorm, { i, e in m.layers[1].postAttentionNorm[i] += e }),
                ("layers.1.q", g.layers[1].q.weight, { i, e in m.layers[1].q.weight[i] += e }),
                ("layers.0.k", g.layers[0].k.weight, { i, e in m.layers[0].k.weight[i] += e }),
                ("layers.0.v", g.layers[0].v.weight, { i, e in m.layers[0].v.weight[i] += e }),
                ("layers.1.down", g.layers[1].down.weight, { i, e in m.layers[1].down.weight[i] += e }),
                ("finalNorm", g.finalNorm, { i, e in m.finalNorm[i] += e }),
            ]
            if let h = g.lmHead { cases.append(("lmHead", h, { i, e in m.lmHead![i] += e })) }
            if let b = g.layers[0].q.bias { cases.append(("layers.0.q.bias", b, { i, e in m.layers[0].q.bias![i] += e })) }
            for (label, grad, perturb) in cases {
                let top = grad.indices.max { abs(grad[$0]) < abs(grad[$1]) }!
                for i in Set([top, grad.count / 3]) {
                    let eps: Float = 1e-2
                    perturb(i, eps)
                    let plus = try forwardLoss(m, tokens)
                    perturb(i, -2 * eps)
                    let minus = try forwardLoss(m, tokens)
                    perturb(i, eps)
                    let fd = (plus - minus) / Double(2 * eps)
                    let analytic = Double(grad[i])
                    print("\(name) \(label)[\(i)]: finite difference \(fd), analytic \(analytic)")
                    XCTAssertEqual(fd, analytic, accuracy: 1e-2 * abs(analytic) + 3e-4,
                                   "\(name) \(label)[\(i)]: finite difference \(fd), analytic \(analytic)")
                }
            }
        }
    }

    func testBadInputIsATypedErrorAndLeavesTheAccumulatorAlone() throws {
        let m = try model("llama-gqa-tied")
        var g = ModelGradients(like: m)
        XCTAssertThrowsError(try m.accumulateGradients(tokens: [5], into: &g)) {
            XCTAssertEqual($0 as? GradientError, .tooFewTokens(count: 1))
        }
        XCTAssertThrowsError(try m.accumulateGradients(tokens: [], into: &g)) {
            XCTAssertEqual($0 as? GradientError, .tooFewTokens(count: 0))
        }
        XCTAssertThrowsError(try m.accumulateGradients(tokens: [1, 2, 48], into: &g)) {
            XCTAssertEqual($0 as? GradientError, .tokenOutOfRange(position: 2, token: 48, vocabSize: 48))
        }
        XCTAssertThrowsError(try m.gradients(tokens: [-1, 2])) {
            XCTAssertEqual($0 as? GradientError, .tokenOutOfRange(position: 0, token: -1, vocabSize: 48))
        }
        var other = ModelGradients(like: try model("llama-gqa-untied"))   // untied head: another shape
        XCTAssertThrowsError(try m.accumulateGradients(tokens: [1, 2, 3], into: &other)) {
            guard case .shapeMismatch = $0 as? GradientError else { return XCTFail("\($0)") }
            XCTAssertTrue("\($0)".contains("tied"), "\($0)")
        }
        XCTAssertTrue(g.embedding.allSatisfy { $0 == 0 } && g.layers[0].q.weight.allSatisfy { $0 == 0 })
    }

    /// setZero empties an accumulator for reuse (per-window gradients for the Fisher diagonal
    /// without a new 4-bytes-per-parameter allocation each window).
    func testSetZeroThenAccumulateEqualsFreshGradients() throws {
        let m = try model("qwen2")
        let a = try reference("qwen2"), b = try reference("qwen2", window: "b.")
        var g = ModelGradients(like: m)
        _ = try m.accumulateGradients(tokens: a.tokens, into: &g)
        g.setZero()
        _ = try m.accumulateGradients(tokens: b.tokens, into: &g)
        assertMatches(Self.named(g), b.gradients, "qwen2 B after setZero")
    }
}
