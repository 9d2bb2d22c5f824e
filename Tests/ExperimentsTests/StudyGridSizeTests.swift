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
