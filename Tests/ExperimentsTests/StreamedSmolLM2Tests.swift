import Foundation
import XCTest
import Experiments
import LLM
import ModelIO
import Pruning
import TestSupport

/// Issue 16, done-means 1: on SmolLM2-135M, a run whose blocks are streamed from the checkpoint
/// writes exactly the model an in-memory run writes, and measures the same perplexity, for Wanda,
/// SparseGPT in both orders and structured Taylor.
final class StreamedSmolLM2Tests: XCTestCase {
    func smolLM2() throws -> String { try smolLM2GGUFPath() }

    func dataDirectory() throws -> String {
        let env = ProcessInfo.processInfo.environment
        for c in [env["SECATEUR_DATA"], "/work/shared/data"].compactMap({ $0 }) where FileManager.default.fileExists(atPath: c + "/c4") {
            return c
        }
        if env["CI"] == "true" { XCTFail("no data directory") }
        throw XCTSkip("no data directory (set SECATEUR_DATA)")
    }

    let evaluation = PruneEvaluationSettings(dataset: .wikitext2, protocol: .wanda, seqlen: 256, windows: 2)

    /// Both runs' outputs hold the same tensors, and their pruned perplexities are equal.
    func assertSame(_ memory: RunRecord, _ streamed: RunRecord, _ a: String, _ b: String, _ name: String) throws {
        let pm = memory.metrics.perplexity.first { $0.stage == .pruned }?.value
        let ps = streamed.metrics.perplexity.first { $0.stage == .pruned }?.value
        XCTAssertNotNil(pm, name)
        XCTAssertEqual(pm, ps, name)
        let x = try checkpointTensors(a), y = try checkpointTensors(b)
        XCTAssertEqual(x.keys.sorted(), y.keys.sorted(), name)
        for (k, v) in x where y[k] != v { XCTFail("\(name): \(k) differs"); break }
    }

    func testStreamedRunsEqualInMemoryRunsOnSmolLM2() throws {
        let model = try smolLM2(), data = try dataDirectory()
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("secateur-streamed-smol-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: root) }

        var cases: [(String, PruneSettings)] = []
        for (method, order) in [(PruneMethod.wanda, PruneOrder.reference), (.sparsegpt, .reference), (.sparsegpt, .onePass)] {
            var s = PruneSettings()
            s.method = method; s.order = order; s.nsamples = 4; s.seqlen = 256; s.dataDirectory = data
            s.pattern = method == .wanda ? .nOfM(n: 2, m: 4) : .unstructured
            s.evaluation = evaluation
            cases.append(("\(method.rawValue)-\(order.rawValue)", s))
        }
        for (name, var s) in cases {
            s.output = root.appendingPathComponent(name + "-memory").path
            let memory = try PruneRun(settings: s).run(modelSpec: model)
            s.output = root.appendingPathComponent(name + "-stream").path
            s.stream = true
            let streamed = try PruneRun(settings: s).run(modelSpec: model)
            try assertSame(memory, streamed, root.appendingPathComponent(name + "-memory").path, s.output!, name)
            try? FileManager.default.removeItem(at: root)
        }

        var t = StructuredPruneSettings()
        t.criterion = .taylor; t.ratio = 0.2; t.attentionLayers = 4...27; t.mlpLayers = 4...27
        t.calibrationWindows = 4; t.calibrationSeqlen = 64; t.dataDirectory = data; t.evaluation = evaluation
        t.output = root.appendingPathComponent("taylor-memory").path
        let memory = try StructuredPruneRun(settings: t).run(modelSpec: model)
        t.output = root.appendingPathComponent("taylor-stream").path
        t.stream = true
        let streamed = try StructuredPruneRun(settings: t).run(modelSpec: model)
        try assertSame(memory, streamed, root.appendingPathComponent("taylor-memory").path, t.output!, "taylor")
        guard case .pruneStructured(let a) = memory.result, case .pruneStructured(let b) = streamed.result else {
            return XCTFail("no structured results")
        }
        XCTAssertEqual(a.report.intermediateSizes, b.report.intermediateSizes)
        XCTAssertEqual(a.report.paramsAfter, b.report.paramsAfter)
    }
}
