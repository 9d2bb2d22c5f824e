import XCTest
@testable import Pruning

/// `--ties torch`: among equal scores, N:M selection picks what torch.topk(largest=False) picks on CPU
/// (fixture written by scripts/make_topk_fixtures.py from torch itself).
final class TorchTieBreakTests: XCTestCase {
    struct Fixture: Decodable {
        struct Case: Decodable { let n: Int; let m: Int; let values: [Float]; let chosen: [[Int]] }
        let cases: [Case]
    }

    func testGroupsWithTiesMatchTorchTopK() throws {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/topk/ties.json")
        let fixture = try JSONDecoder().decode(Fixture.self, from: Data(contentsOf: url))
        XCTAssertEqual(fixture.cases.count, 6)
        for c in fixture.cases {
            let rows = c.chosen.count
            let torchMask = try MaskSelection.nOfM(scores: c.values, rows: rows, cols: c.m, n: c.n, m: c.m, ties: .torch)
            let positionMask = try MaskSelection.nOfM(scores: c.values, rows: rows, cols: c.m, n: c.n, m: c.m, ties: .position)
            var positionDiffers = 0
            for r in 0..<rows {
                let got = (0..<c.m).filter { torchMask[r * c.m + $0] }
                XCTAssertEqual(got, c.chosen[r], "\(c.n):\(c.m) group \(r) values \(Array(c.values[(r * c.m)..<((r + 1) * c.m)]))")
                if (0..<c.m).filter({ positionMask[r * c.m + $0] }) != c.chosen[r] { positionDiffers += 1 }
            }
            // The fixture is only a test of tie handling if position order would choose differently somewhere.
            if c.n < c.m - 1 || c.m == 8 { XCTAssertGreaterThan(positionDiffers, 0, "\(c.n):\(c.m)") }
        }
    }

    func testGroupsLargerThanEightAreRefused() {
        XCTAssertThrowsError(try MaskSelection.nOfM(scores: [Float](repeating: 1, count: 16), rows: 1, cols: 16, n: 8, m: 16, ties: .torch))
    }
}
