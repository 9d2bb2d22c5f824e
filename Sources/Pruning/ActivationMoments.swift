import Compute

/// First and second moments of a linear layer's calibration inputs per input column, as
/// DSnoT's `WrappedGPT.add_batch` keeps them (zyxxmu/DSnoT lib/layerwrapper.py):
/// - `columnSum` = (1/n_windows) Σ_windows Σ_t x_tj — the expected summed input of column j per window,
///   which times W_rj is the expected contribution of weight (r, j) to output r (DSnoT Eq. 4);
/// - `variance` = the token-weighted mean over windows of each window's population variance
///   of column j (the reference's running average of `torch.var(unbiased=False)` per batch).
/// Accumulated in double.
public final class ActivationMoments {
    public let columns: Int
    public private(set) var windows = 0
    public private(set) var tokens = 0
    private var sum: [Double]
    private var weightedVariance: [Double]

    public init(columns: Int) {
        self.columns = columns
        sum = [Double](repeating: 0, count: columns)
        weightedVariance = [Double](repeating: 0, count: columns)
    }

    /// Adds one calibration window: `rows` token rows of `columns` inputs.
    public func add(_ x: UnsafePointer<Float>, rows: Int) {
        guard rows > 0 else { return }
        sum.withUnsafeMutableBufferPointer { s in
            weightedVariance.withUnsafeMutableBufferPointer { v in
                let sb = s.baseAddress!, vb = v.baseAddress!
                parallelFor(columns, minPerThread: 64) { c0, c1 in
                    var s1 = [Double](repeating: 0, count: c1 - c0), s2 = s1
                    for r in 0..<rows {
                        let xr = x + r * columns
                        for j in c0..<c1 { let a = Double(xr[j]); s1[j - c0] += a; s2[j - c0] += a * a }
                    }
                    let n = Double(rows)
                    for j in c0..<c1 {
                        let mean = s1[j - c0] / n
                        sb[j] += s1[j - c0]
                        vb[j] += max(0, s2[j - c0] / n - mean * mean) * n
                    }
                }
            }
        }
        windows += 1
        tokens += rows
    }

    public var columnSum: [Double] { sum.map { $0 / Double(max(windows, 1)) } }
    public var variance: [Double] { weightedVariance.map { $0 / Double(max(tokens, 1)) } }
}
