/// Linear sum assignment (the "assignment problem"): for a cost matrix C [rows × cols],
/// pick one distinct column per row (or one distinct row per column when rows > cols) to
/// minimise (or maximise) the total cost — same contract as scipy.optimize.linear_sum_assignment.
///
/// Algorithm: shortest augmenting paths with dual potentials (Jonker & Volgenant 1987, in the
/// rectangular form of Crouse, "On implementing 2D rectangular assignment algorithms",
/// IEEE TAES 2016, which scipy also uses): one Dijkstra-like search per row, O(rows²·cols).
public enum LinearSumAssignment {
    public enum Failure: Error, CustomStringConvertible {
        case nonFiniteCost
        public var description: String { "linear sum assignment: cost matrix has NaN or infinite entries" }
    }

    /// Returns, for each row, its assigned column, or −1 for rows left unassigned
    /// (only when rows > cols). Costs are row-major. Deterministic.
    public static func solve(cost: [Double], rows: Int, cols: Int, maximize: Bool = false) throws -> [Int] {
        precondition(cost.count == rows * cols, "LinearSumAssignment: cost is not rows×cols")
        guard cost.allSatisfy({ $0.isFinite }) else { throw Failure.nonFiniteCost }
        if rows == 0 || cols == 0 { return [Int](repeating: -1, count: rows) }
        let sign: Double = maximize ? -1 : 1
        if rows <= cols {
            return solveWide(rows: rows, cols: cols) { i, j in sign * cost[i * cols + j] }
        }
        // Tall: solve the transpose, then invert the column→row map.
        let rowOfCol = solveWide(rows: cols, cols: rows) { j, i in sign * cost[i * cols + j] }
        var colOfRow = [Int](repeating: -1, count: rows)
        for (j, i) in rowOfCol.enumerated() { colOfRow[i] = j }
        return colOfRow
    }

    /// Total cost of an assignment returned by `solve`.
    public static func totalCost(cost: [Double], rows: Int, cols: Int, assignment: [Int]) -> Double {
        var t: Double = 0
        for (i, j) in assignment.enumerated() where j >= 0 { t += cost[i * cols + j] }
        return t
    }

    /// nr ≤ nc. Returns col4row.
    private static func solveWide(rows nr: Int, cols nc: Int, _ c: (Int, Int) -> Double) -> [Int] {
        var u = [Double](repeating: 0, count: nr)          // row potentials
        var v = [Double](repeating: 0, count: nc)          // column potentials
        var col4row = [Int](repeating: -1, count: nr)
        var row4col = [Int](repeating: -1, count: nc)
        var spc = [Double](repeating: .infinity, count: nc) // shortest path costs to each column
        var path = [Int](repeating: -1, count: nc)          // predecessor row of each column
        var remaining = [Int](repeating: 0, count: nc)
        var sr = [Bool](repeating: false, count: nr)         // rows scanned
        var sc = [Bool](repeating: false, count: nc)         // columns scanned

        for cur in 0..<nr {
            // Dijkstra from row `cur` over reduced costs c[i][j] − u[i] − v[j] ≥ 0.
            var minVal: Double = 0
            var nrem = nc
            for k in 0..<nc { remaining[k] = nc - k - 1 }
            for i in 0..<nr { sr[i] = false }
            for j in 0..<nc { sc[j] = false; spc[j] = .infinity }
            var sink = -1
            var i = cur
            while sink < 0 {
                sr[i] = true
                var index = -1
                var lowest = Double.infinity
                for k in 0..<nrem {
                    let j = remaining[k]
                    let r = minVal + c(i, j) - u[i] - v[j]
                    if r < spc[j] { path[j] = i; spc[j] = r }
                    // Prefer an unassigned column on ties: it ends the search sooner.
                    if spc[j] < lowest || (spc[j] == lowest && row4col[j] < 0) {
                        lowest = spc[j]; index = k
                    }
                }
                minVal = lowest
                let j = remaining[index]
                if row4col[j] < 0 { sink = j } else { i = row4col[j] }
                sc[j] = true
                nrem -= 1
                remaining[index] = remaining[nrem]
            }
            // Update the duals.
            u[cur] += minVal
            for r in 0..<nr where sr[r] && r != cur { u[r] += minVal - spc[col4row[r]] }
            for j in 0..<nc where sc[j] { v[j] -= minVal - spc[j] }
            // Augment along the path back to `cur`.
            var j = sink
            while true {
                let r = path[j]
                row4col[j] = r
                let prev = col4row[r]
                col4row[r] = j
                j = prev
                if r == cur { break }
            }
        }
        return col4row
    }
}
