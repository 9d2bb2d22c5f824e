import XCTest
@testable import LLM
import ModelIO
@testable import Evaluation

/// Counts of `bench model` against hand counts on a small model whose two layers have
/// different dimensions (as after structured pruning).
final class EfficiencyCountTests: XCTestCase {
    /// hidden 8, vocab 10, head_dim 2, untied head; layer 0: 4 heads, 2 kv heads, MLP 12;
    /// layer 1: 2 heads, 1 kv head, MLP 8. Projection weights: 1 at offsets 0 and 1 of every
    /// group of 4 inputs, 0 elsewhere (2:4); everything else 1.
    func handModel() -> LlamaModel {
        let d = 8, hd = 2
        let config = ModelConfig(architecture: "llama", vocabSize: 10, hiddenSize: d, headDim: hd,
                                 numHeads: [4, 2], numKVHeads: [2, 1], intermediateSizes: [12, 8],
                                 rmsNormEps: 1e-5, ropeTheta: 10000, tieWordEmbeddings: false)
        func lin(_ out: Int, _ inp: Int) -> Linear {
            Linear(weight: (0..<(out * inp)).map { ($0 % inp) % 4 < 2 ? 1 : 0 }, outFeatures: out, inFeatures: inp)
        }
        let layers = zip(zip([4, 2], [2, 1]), [12, 8]).map { hk, inter -> LlamaBlock in
            let (h, kv) = hk
            return LlamaBlock(inputNorm: [Float](repeating: 1, count: d),
                                q: lin(h * hd, d), k: lin(kv * hd, d), v: lin(kv * hd, d), o: lin(d, h * hd),
                                postAttentionNorm: [Float](repeating: 1, count: d),
                                gate: lin(inter, d), up: lin(inter, d), down: lin(d, inter),
                                heads: h, kvHeads: kv, headDim: hd)
        }
        return LlamaModel(config: config, embedding: [Float](repeating: 1, count: 80), layers: layers,
                          finalNorm: [Float](repeating: 1, count: d), lmHead: [Float](repeating: 1, count: 80))
    }

    func testMACsByHand() {
        let m = handModel()
        // Per token, out × in of each linear layer:
        //   layer 0: q 8·8 + k 4·8 + v 4·8 + o 8·8 + gate 12·8 + up 12·8 + down 8·12 = 480
        //   layer 1: q 4·8 + k 2·8 + v 2·8 + o 8·4 + gate 8·8 + up 8·8 + down 8·8 = 288
        //   LM head 10·8 = 80                                             → 848
        // Attention, T = 5, causal pairs 15: 2 products · 15 · heads · head_dim
        //   = 2·15·4·2 + 2·15·2·2 = 360; full pairs 25: 600.
        let causal = MACCount(model: m, sequenceLength: 5)
        XCTAssertEqual(causal.linearPerToken, 848)
        XCTAssertEqual(causal.attentionPerSequence, 360)
        XCTAssertEqual(causal.perSequence, 848 * 5 + 360)
        XCTAssertEqual(causal.perToken, Double(848 * 5 + 360) / 5)
        // Half of every projection is zero; the head is all ones: 384 + 80 non-zero MACs per token.
        XCTAssertEqual(causal.linearNonzeroPerToken, 464)
        XCTAssertEqual(MACCount(model: m, sequenceLength: 5, attentionPairs: .full).perSequence, 848 * 5 + 600)
        // Same convention as the FLOP count used by perplexity reports (1 MAC = 2 FLOPs).
        XCTAssertEqual(m.forwardFLOPs(length: 5), 2 * Double(causal.perSequence))
    }

    /// OPT with word_embed_proj_dim 16 ≠ hidden 32 (the fixture opt-post-proj): the head is
    /// [vocab × 16] and project_in / project_out carry 16·32 weights each. The MAC count used to
    /// read the head as [vocab × 32] (past its end) and left the two projections out.
    func testOPTWithEmbeddingProjectionsByHand() throws {
        let dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/opt/opt-post-proj")
        let m = try OPTModel(directory: dir.path)
        XCTAssertEqual(m.headInputSize, 16)
        // Per layer: q, k, v, out_proj 32·32 each + fc1 40·32 + fc2 32·40 = 6656; two layers.
        // Head 512·16 = 8192; project_in 32·16 + project_out 16·32 = 1024.
        let perToken = 2 * 6656 + 8192 + 1024
        let c = MACCount(model: m, sequenceLength: 4)
        XCTAssertEqual(c.linearPerToken, perToken)
        // Random weights: no zero among them.
        XCTAssertEqual(c.linearNonzeroPerToken, perToken)
        // Attention, T = 4: 10 causal pairs · 2 products · 2 heads · head_dim 16, per layer.
        XCTAssertEqual(c.attentionPerSequence, 2 * (2 * 10 * 2 * 16))
        XCTAssertEqual(m.forwardFLOPs(length: 4), 2 * Double(c.perSequence))
    }

    func testParametersAndBytesByHand() throws {
        let m = handModel()
        let p = ParameterCounts(model: m)
        // embedding 80 + head 80 + norms 8·5 = 40 + projections 480 + 288 = 968.
        XCTAssertEqual(p.total, 968)
        XCTAssertEqual(p.nonzero, 968 - 384)
        XCTAssertEqual(p.modules.first { $0.name == "mlp.down_proj" }, .init(name: "mlp.down_proj", total: 96 + 64, nonzero: 80))
        let b = WeightBytes(model: m)
        XCTAssertEqual(b.denseF32, 968 * 4)
        XCTAssertEqual(b.denseF16, 968 * 2)
        // CSR: 384 non-zeros · 6 bytes + row starts (56 + 40 rows + 1 per matrix) · 4 + 200 dense params · 4.
        XCTAssertEqual(b.csr, 384 * 6 + (96 + 14) * 4 + 200 * 4)
        // Packed 2:4: 384 kept values · 5 bytes + 200 dense params · 4.
        XCTAssertEqual(b.packedNM, 384 * 5 + 200 * 4)
        XCTAssertEqual(b.current, b.denseF32)
        try m.useSparseFormat(.nm)
        XCTAssertEqual(WeightBytes(model: m).current, 384 * 5 + 200 * 4)
        XCTAssertEqual(ParameterCounts(model: m), p, "counts do not depend on storage")
        // KV cache: (2·2 + 1·2) widths · 2 (keys, values) · 4 bytes · 100 positions.
        XCTAssertEqual(KVCacheBytes.of(m, context: 100), 6 * 2 * 4 * 100)
        XCTAssertEqual(KVCacheBytes.of(m, context: 100), m.makeCache(capacity: 100).bytes)
    }

    func testBenchmarkRunsAndReportsConsistently() throws {
        let m = handModel()
        var s = EfficiencySettings()
        s.promptLength = 5; s.decodeTokens = 3; s.repetitions = 3; s.sparseFormat = .csr; s.cpuWatts = 10
        let r = try EfficiencyBenchmark.run(model: m, settings: s)
        XCTAssertEqual(r.paramsTotal, 968)
        XCTAssertEqual(r.macsPerSequence, 848 * 5 + 360)
        XCTAssertEqual(r.storage["csr"], 14)
        XCTAssertEqual(r.weightsBytes, r.weightsBytesByFormat.csr)
        XCTAssertTrue(r.prefillTokensPerSecondMin <= r.prefillTokensPerSecond && r.prefillTokensPerSecond <= r.prefillTokensPerSecondMax)
        XCTAssertGreaterThan(r.decodeTokensPerSecond, 0)
        XCTAssertGreaterThanOrEqual(r.energyJoulesPerToken, 0)
        XCTAssertGreaterThan(r.peakRSSBytes, 1 << 20)
        let json = String(decoding: try JSONEncoder().encode(r), as: UTF8.self)
        for key in ["params_total", "params_nonzero", "macs_per_token", "weights_bytes", "prefill_tokens_per_second",
                    "decode_tokens_per_second", "energy_joules_per_token", "energy_source"] {
            XCTAssertTrue(json.contains("\"\(key)\""), key)
        }
        s.repetitions = 0
        XCTAssertThrowsError(try EfficiencyBenchmark.run(model: handModel(), settings: s))
    }

    func testEnergyFromFakeRAPLTree() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("rapl-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: root) }
        for (zone, value) in [("intel-rapl:0", "1000000"), ("intel-rapl:0:0", "5"), ("intel-rapl:1", "999000000")] {
            let dir = root.appendingPathComponent(zone)
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
            try value.write(to: dir.appendingPathComponent("energy_uj"), atomically: false, encoding: .utf8)
            try "1000000000".write(to: dir.appendingPathComponent("max_energy_range_uj"), atomically: false, encoding: .utf8)
        }
        var meter = EnergyMeter(raplRoot: root.path)
        XCTAssertEqual(meter.source, .rapl)
        meter.start()
        // Package 0 uses 2.5 J; package 1 wraps at 1000 J after using 3 J; the sub-zone is ignored.
        try "3500000".write(to: root.appendingPathComponent("intel-rapl:0/energy_uj"), atomically: false, encoding: .utf8)
        try "2000000".write(to: root.appendingPathComponent("intel-rapl:1/energy_uj"), atomically: false, encoding: .utf8)
        try "9999999".write(to: root.appendingPathComponent("intel-rapl:0:0/energy_uj"), atomically: false, encoding: .utf8)
        XCTAssertEqual(meter.stop(), 5.5, accuracy: 1e-9)
        let estimate = EnergyMeter(cpuWatts: 3, raplRoot: root.appendingPathComponent("absent").path)
        XCTAssertEqual(estimate.source, .estimate)
        XCTAssertEqual(CarbonEstimate.grams(joules: 3.6e6, gramsPerKWh: 400), 400, accuracy: 1e-9)
    }

    func testRepeatedTimingStatistics() {
        let t = RepeatedTiming(samples: [3, 1, 4, 2])
        XCTAssertEqual(t.median, 2.5); XCTAssertEqual(t.min, 1); XCTAssertEqual(t.max, 4)
        XCTAssertEqual(RepeatedTiming(samples: [5, 1, 9]).median, 5)
    }
}
