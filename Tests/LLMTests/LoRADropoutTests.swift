import XCTest
import Compute
@testable import LLM
import ModelIO

/// LoRA dropout (PEFT's lora_dropout on the adapter input): under a fixed seed the mask is a
/// fixed function, so the analytic adapter gradients must match central differences of the
/// loss computed with the same mask; the expected share of kept inputs is 1 − p; and with the
/// seed cleared (inference) the adapter sees its whole input.
final class LoRADropoutTests: XCTestCase {
    func model() throws -> LanguageModel {
        let (m, _) = try RecoveryReferenceTests.withAdapter("llama")
        var rng = SeededRNG(seed: 3)
        for i in 0..<m.layerCount {
            for p in m.projections {
                var l = m.linear(p, layer: i)
                l.adapter?.dropout = 0.3
                if l.adapter != nil { for j in l.adapter!.a.indices { l.adapter!.a[j] += 0.01 * rng.nextGaussian() } }
                m.setLinear(l, p, layer: i)
            }
        }
        return m
    }

    func loss(_ m: LanguageModel, _ tokens: [Int32]) throws -> Double {
        var g = ModelGradients(tensors: [], partial: true)
        let s = try m.accumulateGradients(tokens: tokens, objective: .window(tokens), into: &g)
        return s.crossEntropy / Double(s.targets)
    }

    func testAdapterGradientsUnderDropoutMatchFiniteDifferences() throws {
        let m = try model()
        let tokens: [Int32] = (0..<20).map { Int32(($0 * 7 + 3) % 48) }
        m.setAdapterDropoutSeed(11)
        let trainable = TrainableParameters.adapters(of: m)
        var g = trainable.makeGradients(for: m)
        _ = try m.accumulateGradients(tokens: tokens, objective: .window(tokens), into: &g)
        var checked = 0
        for name in ["model.layers.0.self_attn.q_proj.lora_A.weight", "model.layers.1.mlp.down_proj.lora_B.weight",
                     "model.layers.0.mlp.up_proj.lora_A.weight"] {
            let analytic = g[name]
            for j in stride(from: 0, to: analytic.count, by: max(1, analytic.count / 6)) {
                let h: Float = 1e-2
                let x0 = m.withAdapterParameter(name) { $0[j] }
                m.withAdapterParameter(name) { $0[j] = x0 + h }
                let up = try loss(m, tokens)
                m.withAdapterParameter(name) { $0[j] = x0 - h }
                let down = try loss(m, tokens)
                m.withAdapterParameter(name) { $0[j] = x0 }
                let numeric = Float((up - down) / Double(2 * h))
                XCTAssertEqual(analytic[j], numeric, accuracy: 2e-3 * max(1, abs(numeric)) + 1e-4, "\(name)[\(j)]")
                checked += 1
            }
        }
        XCTAssertGreaterThan(checked, 12)
        // The mask matters: another seed gives another loss; no seed gives the undropped one.
        let seeded = try loss(m, tokens)
        m.setAdapterDropoutSeed(12)
        XCTAssertNotEqual(try loss(m, tokens), seeded)
        m.setAdapterDropoutSeed(nil)
        let plain = try loss(m, tokens)
        XCTAssertNotEqual(plain, seeded)
        XCTAssertEqual(try loss(m, tokens), plain)
    }

    func testKeptShareIsOneMinusP() {
        var a = LoRAAdapter(rank: 2, alpha: 4, inFeatures: 100, outFeatures: 3, a: [Float](repeating: 0, count: 200),
                            b: [Float](repeating: 0, count: 6), dropout: 0.25)
        a.dropoutSeed = 5
        let scales = a.dropoutScales(rows: 400)
        let kept = scales.filter { $0 != 0 }
        XCTAssertEqual(Double(kept.count) / Double(scales.count), 0.75, accuracy: 0.01)
        XCTAssertTrue(kept.allSatisfy { $0 == 1 / Float(0.75) })
        a.dropoutSeed = 6
        XCTAssertNotEqual(a.dropoutScales(rows: 400), scales)
    }

    /// `keptBits` against its documented rule, element by element: element i is kept when the
    /// (i mod 4)-th 16-bit quarter (low first) of hash64(seed, i / 4) is below round((1 − p)·2¹⁶);
    /// the length ends inside a word and inside a group of four.
    func testKeptBitsFollowTheHashQuarters() {
        for p: Float in [0.05, 0.5, 0.9] {
            var a = LoRAAdapter(rank: 1, alpha: 1, inFeatures: 131, outFeatures: 1, a: [Float](repeating: 0, count: 131),
                                b: [0], dropout: p)
            a.dropoutSeed = 0xDEAD_BEEF
            let rows = 3, n = rows * 131, bits = a.keptBits(rows: rows)
            let threshold = UInt64((Double(1 - p) * 65536).rounded())
            XCTAssertEqual(bits.count, (n + 63) / 64)
            for i in 0..<(bits.count * 64) {
                let bit = bits[i / 64] >> UInt64(i % 64) & 1
                if i >= n { XCTAssertEqual(bit, 0, "bit \(i) past the end"); continue }
                let quarter = LoRAAdapter.hash64(0xDEAD_BEEF, i / 4) >> UInt64(16 * (i % 4)) & 0xFFFF
                XCTAssertEqual(bit, quarter < threshold ? 1 : 0, "p \(p), element \(i)")
            }
        }
    }

    /// The eight-lane `applyMask` against the rule written element by element, on a length
    /// that ends inside a word (3 full words + 8 elements), both to set and to add.
    func testApplyMaskFollowsTheBitsElementByElement() {
        var a = LoRAAdapter(rank: 1, alpha: 1, inFeatures: 200, outFeatures: 1, a: [Float](repeating: 0, count: 200),
                            b: [0], dropout: 0.05)
        a.dropoutSeed = 9
        let bits = a.keptBits(rows: 1), n = 200, scale: Float = 1 / 0.95
        XCTAssertEqual(bits.count, 4)
        XCTAssertEqual(bits[3] >> 8, 0, "bits past the end are cleared")
        var rng = SeededRNG(seed: 1)
        let v = (0..<n).map { _ in rng.nextGaussian() }, base = (0..<n).map { _ in rng.nextGaussian() }
        var set = [Float](repeating: .nan, count: n), added = base
        v.withUnsafeBufferPointer { vb in
            LoRAAdapter.applyMask(vb.baseAddress!, bits, scale: scale, count: n, into: &set, add: false)
            LoRAAdapter.applyMask(vb.baseAddress!, bits, scale: scale, count: n, into: &added, add: true)
        }
        var dropped = 0
        for i in 0..<n {
            let kept = bits[i / 64] >> UInt64(i % 64) & 1 == 1
            if !kept { dropped += 1 }
            XCTAssertEqual(set[i], kept ? v[i] * scale : 0, "set \(i)")
            XCTAssertEqual(added[i], base[i] + (kept ? v[i] * scale : 0), "add \(i)")
        }
        XCTAssertGreaterThan(dropped, 0)
        XCTAssertLessThan(dropped, 40)
    }
}

extension LoRAAdapter {
    /// This step's dropout multipliers for an input [rows × in], from `keptBits`: 1/(1 − p) where
    /// it keeps the element, 0 where it drops it.
    func dropoutScales(rows: Int) -> [Float] {
        let bits = keptBits(rows: rows), scale = 1 / (1 - dropout)
        return (0..<(rows * inFeatures)).map { bits[$0 >> 6] >> UInt64($0 & 63) & 1 == 1 ? scale : 0 }
    }
}
