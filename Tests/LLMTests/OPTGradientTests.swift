import XCTest
import LLM
import ModelIO

/// The OPT backward against transformers: `model(ids, labels=ids).loss.backward()` in float32
/// on the tiny random OPT models (pre-LN; post-LN with project_in/out), fixtures from
/// scripts/make_opt_fixtures.py, checked there against a float64 run.
final class OPTGradientTests: XCTestCase {
    struct Reference {
        var tokens: [Int32]
        var loss: Float
        var gradients: [String: [Float]]
    }

    func reference(_ name: String) throws -> Reference {
        let f = try SafetensorsFile(path: OPTModelTests.fixtures.appendingPathComponent("\(name)/gradients.safetensors").path)
        var grads: [String: [Float]] = [:]
        for n in f.tensorNames where n.hasPrefix("grad.") { grads[String(n.dropFirst(5))] = try f.loadFloat32(n) }
        return Reference(tokens: try f.loadInts("input_ids").map { Int32($0) }, loss: try f.loadFloat32("loss")[0], gradients: grads)
    }

    /// Every parameter within 1e-4 of its tensor's largest reference gradient (and elementwise,
    /// see `assertGradientsMatch`). k_proj's bias only shifts each query's scores by a constant,
    /// which softmax ignores: its true gradient is 0 and both sides hold rounding noise, so it
    /// is checked absolutely.
    func testGradientsMatchTransformers() throws {
        for name in OPTModelTests.names {
            let m = try OPTModel(directory: OPTModelTests.fixtures.appendingPathComponent(name).path)
            var ref = try reference(name)
            let (loss, g) = try m.gradients(tokens: ref.tokens)
            XCTAssertEqual(loss, ref.loss, accuracy: 1e-5 * ref.loss, "\(name): loss")
            var ours = g.named
            for key in ours.keys where key.hasSuffix("k_proj.bias") {
                XCTAssertLessThan(ours[key]!.map(abs).max()!, 1e-6, "\(name): \(key) should be ~0")
                XCTAssertLessThan(ref.gradients[key]!.map(abs).max()!, 1e-6)
                ours[key] = nil; ref.gradients[key] = nil
            }
            XCTAssertEqual(Set(g.named.keys), Set(m.parameters.map(\.name)))
            assertGradientsMatch(ours, ref.gradients, name)
            // Positions the window never reached get nothing; the offset rows 0 and 1 neither.
            let d = m.hiddenSize, positions = g[OPTTensorNames.positions]
            XCTAssertTrue(positions[0..<(2 * d)].allSatisfy { $0 == 0 })
            XCTAssertTrue(positions[((ref.tokens.count + 2) * d)...].allSatisfy { $0 == 0 })
        }
    }

    /// Two windows accumulate into one buffer: g(A) + 0.5·g(A) = 1.5·g(A).
    func testAccumulationScalesAndSums() throws {
        let m = try OPTModel(directory: OPTModelTests.fixtures.appendingPathComponent("opt-post-proj").path)
        let tokens = try reference("opt-post-proj").tokens
        let (_, once) = try m.gradients(tokens: tokens)
        var g = ModelGradients(like: m)
        _ = try m.accumulateGradients(tokens: tokens, into: &g)
        _ = try m.accumulateGradients(tokens: tokens, into: &g, scale: 0.5)
        let scale = once.values.map(abs).max()!
        XCTAssertLessThanOrEqual(zip(g.values, once.values).map { abs($0 - 1.5 * $1) }.max()!, 1e-5 * scale)
        XCTAssertThrowsError(try m.accumulateGradients(tokens: [Int32](repeating: 5, count: m.maxPositions + 1), into: &g))
    }
}
