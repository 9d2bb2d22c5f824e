/// Per-input-column squared L2 norms of a linear layer's calibration inputs, as Wanda's
/// `WrappedGPT.add_batch` keeps them: scaler_j = Σ_samples ‖X_{·,j}‖² / n_samples.
/// Accumulated in double so 128 × 2048 rows lose nothing.
public final class ActivationNorms {
    public let columns: Int
    public private(set) var samples = 0
    private var sumOfSquares: [Double]

    public init(columns: Int) {
        self.columns = columns
        sumOfSquares = [Double](repeating: 0, count: columns)
    }

    /// Adds one calibration sample: `rows` token rows of `columns` inputs.
    public func add(_ x: UnsafePointer<Float>, rows: Int) {
        sumOfSquares.withUnsafeMutableBufferPointer { acc in
            // Columns split across workers; each sums its slice over all rows.
            let a = acc.baseAddress!
            parallelFor(columns, minPerThread: 64) { c0, c1 in
                var local = [Float](repeating: 0, count: c1 - c0)
                var blockRows = 0
                for r in 0..<rows {
                    let xr = x + r * columns
                    for j in c0..<c1 { local[j - c0] += xr[j] * xr[j] }
                    blockRows += 1
                    // Flush to double every 256 rows to keep float sums short.
                    if blockRows == 256 || r == rows - 1 {
                        for j in c0..<c1 { a[j] += Double(local[j - c0]); local[j - c0] = 0 }
                        blockRows = 0
                    }
                }
            }
        }
        samples += 1
    }

    /// Σ‖X_j‖² / n (Wanda's scaler_row).
    public var scaler: [Float] {
        let n = Double(max(samples, 1))
        return sumOfSquares.map { Float($0 / n) }
    }
}

import Compute
