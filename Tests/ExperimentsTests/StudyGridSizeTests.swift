import Experiments
import XCTest

/// A study's grid is bounded (`StudyConfig.maxCells`) and checked before it is expanded: the
/// fuzz harness (fuzz/, issue 18) found short files whose lists multiply to millions of cells,
/// which `secateur study` expanded (and deduplicated pairwise) until it hung.
final class StudyGridSizeTests: XCTestCase {
    func error(_ yaml: String, file: StaticString = #filePath, line: UInt = #line) -> String {
        do {
            _ = try StudyConfig.parse(yaml, file: "s.yaml")
            XCTFail("expected an error", file: file, line: line)
            return ""
        } catch {
            return "\(error)"
        }
    }

    func list(_ n: Int) -> String { "[" + (0..<n).map(String.init).joined(separator: ", ") + "]" }

    func testModelsTimesSeedsBeyondTheLimitIsRefusedAtOnce() {
        let start = Date()
        let e = error("""
        models: \(list(200))
        seeds: \(list(200))
        pruning: {method: magnitude, sparsity: 0.5}
        """)
        XCTAssertTrue(e.contains("asks for 40200 cells") && e.contains("more than the 1000 "), e)
        XCTAssertFalse(e.contains("\n"), e)
        XCTAssertLessThan(Date().timeIntervalSince(start), 1)
    }

    func testAnEntrysListsAreCheckedBeforeTheyAreMultipliedOut() {
        let start = Date()
        let e = error("""
        models: [m]
        pruning:
          - {method: magnitude, sparsity: \(list(100)), nsamples: \(list(100)), seqlen: \(list(100))}
        """)
        XCTAssertTrue(e.contains("s.yaml:3:") && e.contains("more than 1000 combinations"), e)
        XCTAssertLessThan(Date().timeIntervalSince(start), 1)
    }

    func testALargeGridWithinTheLimitExpandsQuickly() throws {
        let start = Date()
        let c = try StudyConfig.parse("""
        models: \(list(20))
        seeds: \(list(24))
        pruning: {method: magnitude, sparsity: [0.5, 0.5]}
        """, file: "s.yaml")
        // 20 × (1 + 2 × 24) = 980 cells asked for; the repeated sparsity's are duplicates, dropped.
        XCTAssertEqual(c.cells.count, 20 + 20 * 24)
        XCTAssertLessThan(Date().timeIntervalSince(start), 1)
    }
}

/// The grid's deduplication (by the JSON of each pruning and recovery, encoded once per seed)
/// keeps exactly the cells a pairwise scan keeps, in the same order: repeated entries, dense entries that ignore the seed, a dense baseline also asked for as an entry, and
/// a distillation teacher given by name that equals the dense-teacher default for that model.
final class StudyGridDeduplicationTests: XCTestCase {
    func testMatchesAPairwiseScan() throws {
        let c = try StudyConfig.parse("""
        models: [a, b]
        seeds: [1, 2]
        pruning:
          - {method: magnitude, sparsity: [0.5, 0.5]}
          - {method: wanda, sparsity: 0.5, recovery: [none, {method: distill, steps: 2, teacher: a}, {method: distill, steps: 2}]}
        recovery: [none, {method: lora, steps: 3}]
        """, file: "s.yaml")
        var naive: [StudyCell] = []
        // Every cell the grid asks for, in its order, with the pairwise scan the dedup replaced.
        for model in c.models {
            if c.includeDense { naive.append(StudyCell(study: c.name, model: model, pruning: .dense, recovery: nil, evaluation: c.evaluation)) }
            for (p, own) in c.pruning {
                for r in own ?? c.recovery {
                    for seed in c.seeds {
                        var pruning = p
                        switch pruning {
                        case .dense: break
                        case .unstructured(var s): s.seed = seed; pruning = .unstructured(s)
                        case .structured(var s): s.seed = seed; pruning = .structured(s)
                        }
                        if pruning == .dense && r != nil { continue }
                        var recovery = r
                        if recovery != nil {
                            recovery!.seed = seed
                            if recovery!.teacher == StudyConfig.denseTeacher { recovery!.teacher = model }
                        }
                        let cell = StudyCell(study: c.name, model: model, pruning: pruning, recovery: recovery, evaluation: c.evaluation)
                        if !naive.contains(cell) { naive.append(cell) }
                    }
                }
            }
        }
        let cells = c.cells
        XCTAssertEqual(cells, naive)
        // a, b: dense once each; magnitude (one distinct sparsity) × {none, lora} × seeds {1, 2};
        // wanda × {none, teacher a, teacher <model>} × seeds — for model a the last two are one cell.
        XCTAssertEqual(cells.count, 2 * (1 + 2 * 2) + 2 * 3 * 2 - 2)
    }
}
