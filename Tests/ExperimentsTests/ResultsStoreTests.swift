@testable import Experiments
import Foundation
import XCTest

/// The SQLite store: WAL, one row per key, complete rows never replaced, failed rows retried,
/// collect idempotent; and the Pareto front of the report's accuracy-vs-bytes plot.
final class ResultsStoreTests: XCTestCase {
    var dir: URL!

    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("store-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    }

    override func tearDown() { try? FileManager.default.removeItem(at: dir) }

    func cell(_ sparsity: Double) -> StudyCell {
        var s = PruneSettings()
        s.sparsity = sparsity
        return StudyCell(study: "t", model: "m.gguf", pruning: .unstructured(s), recovery: nil, evaluation: StudyEvaluation())
    }

    func record(_ c: StudyCell, key: String, ppl: Double) -> RunRecord {
        let identity = ModelIdentity(name: "m.gguf", architecture: "llama", format: "gguf", sourcePath: "/m.gguf", sourceSHA256: "ab",
                                     paramsTotal: 100, paramsNonzero: 100)
        let result = StudyCellResult(cellKey: key, study: c.study, label: c.label, method: c.pruning.method, structure: c.pruning.structure,
                                     ratioMeaning: c.pruning.ratioMeaning, requested: c.pruning.requested, actual: c.pruning.requested,
                                     recovery: nil, paramsDense: 100, paramsTotal: 100, paramsNonzero: 50, paramsRemoved: 0.5,
                                     tasksAverage: nil, efficiency: nil, prune: nil, recover: nil, cellSecondsByPhase: [:])
        return RunRecord(model: identity, settings: .studyCell(c), secondsByPhase: [:], secondsTotal: 1, peakRSSMegabytes: nil,
                         metrics: RunMetrics(perplexity: [PerplexityMetric(dataset: "wikitext2", protocol: "wanda", seqlen: 16, windows: 2,
                                                                           value: ppl, stage: .pruned)]),
                         environment: .current(threads: 1), result: .studyCell(result))
    }

    func testRowsAreWrittenOnceAndFailedRowsRetried() throws {
        let store = try ResultsStore(path: dir.appendingPathComponent("r.sqlite").path)
        XCTAssertEqual(try store.journalMode(), "wal")
        let a = cell(0.5), b = cell(0.6)
        XCTAssertTrue(try store.storeFailed(key: "ka", cell: a, modelSHA256: "ab", error: "boom", seconds: 1))
        XCTAssertEqual(try store.cells().map(\.status), [.failed])
        XCTAssertTrue(try store.storeComplete(key: "ka", cell: a, modelSHA256: "ab", record: record(a, key: "ka", ppl: 10)))
        // A complete row stays: neither a second result nor a failure replaces it.
        XCTAssertFalse(try store.storeComplete(key: "ka", cell: a, modelSHA256: "ab", record: record(a, key: "ka", ppl: 99)))
        XCTAssertFalse(try store.storeFailed(key: "ka", cell: a, modelSHA256: "ab", error: "late", seconds: 1))
        try store.storeComplete(key: "kb", cell: b, modelSHA256: "ab", record: record(b, key: "kb", ppl: 12))
        let rows = try store.cells()
        XCTAssertEqual(rows.map(\.key), ["ka", "kb"])
        XCTAssertEqual(rows[0].record?.metrics.perplexity.first?.value, 10)
        XCTAssertEqual(rows[0].cell, a)
        XCTAssertEqual(try store.completeKeys(), ["ka", "kb"])
        // A second connection (another process's view) sees the same rows.
        XCTAssertEqual(try ResultsStore.existing(path: store.path).cells().count, 2)
        XCTAssertThrowsError(try ResultsStore.existing(path: dir.appendingPathComponent("missing.sqlite").path))

        // A second study asking for the same cell shares its row and lists it as its own.
        var shared = a
        shared.study = "u"
        XCTAssertFalse(try store.storeComplete(key: "ka", cell: shared, modelSHA256: "ab", record: record(shared, key: "ka", ppl: 10)))
        XCTAssertEqual(try store.cells(study: "u").map(\.key), ["ka"])
        XCTAssertEqual(try store.cells(study: "t").map(\.key), ["ka", "kb"])
        XCTAssertEqual(try store.statuses(), ["ka": .complete, "kb": .complete])
    }

    func testCollectMergesOutcomeFilesIdempotently() throws {
        let records = dir.appendingPathComponent("records").path
        let a = cell(0.5), b = cell(0.7)
        func planned(_ c: StudyCell, _ key: String) -> PlannedCell {
            PlannedCell(index: 0, key: key, label: c.label, model: c.model, modelSHA256: "ab", estimatedSeconds: 1, stored: nil, cell: c)
        }
        try CellOutcomeFile(planned(a, "ka"), outcome: .complete(record(a, key: "ka", ppl: 10))).write(to: records)
        try CellOutcomeFile(planned(b, "kb"), outcome: .failed(error: "no data", seconds: 2)).write(to: records)
        try Data("{not json".utf8).write(to: URL(fileURLWithPath: records).appendingPathComponent("broken.json"))
        let store = try ResultsStore(path: dir.appendingPathComponent("c.sqlite").path)
        let first = try CellOutcomeFile.collect(directory: records, into: store)
        XCTAssertEqual([first.files, first.added, first.failed, first.alreadyStored, first.unreadable.count], [3, 1, 1, 0, 1])
        let second = try CellOutcomeFile.collect(directory: records, into: store)
        XCTAssertEqual([second.added, second.failed, second.alreadyStored], [0, 0, 2])
        XCTAssertEqual(try store.cells().count, 2)
        XCTAssertEqual(try store.cell(key: "kb").error, "no data")
    }

    func testParetoFrontKeepsOnlyUndominatedPoints() {
        let pts: [(x: Double, y: Double)] = [(10, 50), (20, 55), (15, 49), (30, 54), (25, 60), (40, 60), (5, 40)]
        let front = SVGPlot.paretoFront(pts)
        XCTAssertEqual(front.map(\.x), [5, 10, 20, 25])
        XCTAssertEqual(front.map(\.y), [40, 50, 55, 60])
    }

    func testPlotDrawsOnePathPerSeriesAndLogTicks() {
        var p = SVGPlot(id: "p", title: "t <&>", xLabel: "x", yLabel: "y", logY: true,
                        series: [.init(name: "a", points: [(0, 10), (50, 100), (70, 1000)]), .init(name: "b", points: [(30, 20)])])
        p.pareto = [(0, 10), (50, 100)]
        let svg = p.render()
        XCTAssertEqual(svg.components(separatedBy: "class=\"series\"").count - 1, 2)
        XCTAssertEqual(svg.components(separatedBy: "class=\"pareto\"").count - 1, 1)
        XCTAssertTrue(svg.contains("t &lt;&amp;&gt;"))
        XCTAssertTrue(svg.contains(">100<") && svg.contains(">1e+03<") || svg.contains(">1000<"), svg)
    }
}
