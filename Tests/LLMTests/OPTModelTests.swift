import XCTest
import LLM
import ModelIO
import Compute

/// OPT (pre-LN, and the 350m layout: post-LN with project_in/out) against transformers in
/// float32 on tiny random models (fixtures: scripts/make_opt_fixtures.py): logits over the whole
/// sequence, through the KV cache, and packed with other sequences.
final class OPTModelTests: XCTestCase {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Fixtures/opt")
    static let names = ["opt-pre", "opt-post-proj"]

    func model(_ name: String) throws -> OPTModel {
        try OPTModel(directory: Self.fixtures.appendingPathComponent(name).path)
    }

    func maxAbsDiff(_ a: [Float], _ b: [Float]) -> Float {
        XCTAssertEqual(a.count, b.count)
        return zip(a, b).map { abs($0 - $1) }.max() ?? .infinity
    }

    func testLogitsMatchTransformersOverTheSequenceAndThroughTheCache() throws {
        for name in Self.names {
            let m = try model(name)
            let f = try SafetensorsFile(path: Self.fixtures.appendingPathComponent("\(name)/expected.safetensors").path)
            let input = try f.loadInts("input_ids").map { Int32($0) }, next = try f.loadInts("next_input_ids").map { Int32($0) }
            XCTAssertLessThanOrEqual(maxAbsDiff(try m.logits(input), try f.loadFloat32("logits")), 1e-4, "\(name): full sequence")
            let cache = m.makeCache(capacity: input.count + next.count)
            _ = try m.lastLogits(input, cache: cache)
            XCTAssertLessThanOrEqual(maxAbsDiff(try m.logits(next, cache: cache), try f.loadFloat32("next_logits")), 1e-4,
                                     "\(name): through the KV cache")
        }
    }

    func testPackedSequencesEqualSeparateForwards() throws {
        let m = try model("opt-post-proj")
        let a: [Int32] = [2, 50, 60, 70, 80, 90], b: [Int32] = [2, 11, 12, 13]
        var tokens = a + b
        var hidden = try m.embed(packed: tokens, segments: [AttentionSegment(start: 0, count: a.count, prefixStart: 0, prefixCount: 0),
                                                            AttentionSegment(start: a.count, count: b.count, prefixStart: 0, prefixCount: 0)])
        m.runLayers(packed: &hidden, segments: [AttentionSegment(start: 0, count: a.count, prefixStart: 0, prefixCount: 0),
                                                AttentionSegment(start: a.count, count: b.count, prefixStart: 0, prefixCount: 0)])
        let packed = m.headLogits(normed: m.finalNormed(hidden))
        let separate = try m.logits(a) + m.logits(b)
        XCTAssertLessThanOrEqual(maxAbsDiff(packed, separate), 1e-4)
        tokens = []
    }

    func testRegistryNamesEveryTensorOfTheCheckpointOnce() throws {
        for name in Self.names {
            let m = try model(name)
            let files = try SafetensorsDirectory(directory: Self.fixtures.appendingPathComponent(name).path)
            XCTAssertEqual(Set(m.parameters.map(\.name)), Set(files.tensorNames), name)
            for t in m.parameters { XCTAssertEqual(files.shape(of: t.name), t.shape, t.name) }
        }
    }

    func testPositionsBeyondTheTableAreRefused() throws {
        let m = try model("opt-pre")
        XCTAssertThrowsError(try m.logits([Int32](repeating: 5, count: m.maxPositions + 1)))
    }
}
