import XCTest
import Compute
import ModelIO
@testable import Pruning

/// Linear sum assignment against scipy.optimize.linear_sum_assignment (fixture) and brute force.
final class LinearSumAssignmentTests: XCTestCase {
    func testMatchesScipyOptimalCost() throws {
        let f = try SafetensorsFile(path: SparseGPTTests.fixture)
        for k in 0..<5 {
            let shape = f.shape(of: "lsa\(k).cost")!
            let r = shape[0], c = shape[1]
            let cost = try f.loadFloat32("lsa\(k).cost").map(Double.init)
            let refRows = try f.loadInts("lsa\(k).row"), refCols = try f.loadInts("lsa\(k).col")
            var refTotal = 0.0
            for (i, j) in zip(refRows, refCols) { refTotal += cost[i * c + j] }
            let a = try LinearSumAssignment.solve(cost: cost, rows: r, cols: c)
            XCTAssertEqual(a.count, r)
            let assigned = a.filter { $0 >= 0 }
            XCTAssertEqual(assigned.count, min(r, c), "lsa\(k): every row (or column) assigned")
            XCTAssertEqual(Set(assigned).count, assigned.count, "lsa\(k): distinct columns")
            let total = LinearSumAssignment.totalCost(cost: cost, rows: r, cols: c, assignment: a)
            XCTAssertEqual(total, refTotal, accuracy: 1e-9 * max(1, abs(refTotal)), "lsa\(k) \(r)×\(c)")
            // Maximisation = minimisation of the negated matrix.
            let amax = try LinearSumAssignment.solve(cost: cost, rows: r, cols: c, maximize: true)
            let bmin = try LinearSumAssignment.solve(cost: cost.map { -$0 }, rows: r, cols: c)
            XCTAssertEqual(LinearSumAssignment.totalCost(cost: cost, rows: r, cols: c, assignment: amax),
                           LinearSumAssignment.totalCost(cost: cost, rows: r, cols: c, assignment: bmin), accuracy: 1e-9)
        }
    }

    func permutations(_ n: Int) -> [[Int]] {
        if n == 0 { return [[]] }
        return permutations(n - 1).flatMap { p in (0...p.count).map { i in var q = p; q.insert(n - 1, at: i); return q } }
    }

    func testBruteForceSmall() throws {
        var g = SeededRNG(seed: 5)
        let perms = permutations(6)
        for trial in 0..<30 {
            let n = 6
            let cost = (0..<(n * n)).map { _ in trial % 3 == 0 ? Double(Int(g.nextFloat() * 4)) : Double(g.nextGaussian()) }
            let best = perms.map { p in (0..<n).reduce(0.0) { $0 + cost[$1 * n + p[$1]] } }.min()!
            let a = try LinearSumAssignment.solve(cost: cost, rows: n, cols: n)
            XCTAssertEqual(LinearSumAssignment.totalCost(cost: cost, rows: n, cols: n, assignment: a), best, accuracy: 1e-9)
            XCTAssertEqual(Set(a).count, n)
        }
    }

    func testRejectsNonFinite() {
        XCTAssertThrowsError(try LinearSumAssignment.solve(cost: [1, .nan, 2, 3], rows: 2, cols: 2))
        XCTAssertEqual(try LinearSumAssignment.solve(cost: [], rows: 0, cols: 3), [])
    }
}
