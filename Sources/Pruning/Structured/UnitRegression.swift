import Foundation

/// Bonsai's score model (Dery et al. 2024, §3.2; `lib/scoring_model.py` of ldery/Bonsai): a
/// linear fit of a sub-model's measured quality on which units it kept,
///     y_s ≈ c + Σ_j β_j · x_sj,   x_sj = 1 if sample s kept unit j, else 0,
/// whose coefficients β_j are the units' importances. The penalty is chosen as the reference
/// chooses its hyper-parameters: by the mean Kendall τ between predicted and measured y on
/// held-out folds (5 contiguous folds, as its `split_train_test`).
///
/// Departure: ridge (L2) solved in closed form over a grid of penalties, where the reference
/// trains the linear model with Adam and an L1 penalty over a grid of penalties, learning rates
/// and batch sizes. Ridge is exact and deterministic, and with more units than samples (the usual
/// case: hundreds of channels, a hundred or two sub-models) it is solved in the S×S dual.
public enum UnitRegression {
    /// Penalties tried, relative to the mean diagonal of the centred Gram matrix.
    static let relativePenalties: [Double] = [1e-3, 1e-2, 1e-1, 1, 10]

    /// β for `x` (samples × units, row-major, 0/1) and `y` (one value per sample).
    public static func fit(x: [Double], y: [Double], units: Int) -> [Double] {
        let s = y.count
        precondition(x.count == s * units && s >= 2)
        // Every fit below needs only inner products of samples: K = X·Xᵀ once (S × S).
        var k = [Double](repeating: 0, count: s * s)
        for a in 0..<s {
            for b in 0...a {
                var dot = 0.0
                for j in 0..<units { dot += x[a * units + j] * x[b * units + j] }
                k[a * s + b] = dot; k[b * s + a] = dot
            }
        }
        let all = Array(0..<s)
        var best = (tau: -Double.infinity, penalty: relativePenalties[0])
        if s >= 10 {
            let folds = 5, size = s / folds
            for p in relativePenalties {
                var taus: [Double] = []
                for f in 0..<folds {
                    let test = Array((f * size)..<((f + 1) * size))
                    let train = all.filter { $0 < f * size || $0 >= (f + 1) * size }
                    let fitted = solve(gram: k, samples: s, y: y, rows: train, relativePenalty: p)
                    taus.append(kendallTau(test.map { fitted.predict(k, samples: s, row: $0) }, test.map { y[$0] }))
                }
                let mean = taus.reduce(0, +) / Double(folds)
                if mean > best.tau { best = (mean, p) }   // ties: the smaller penalty (tried first)
            }
        }
        let fitted = solve(gram: k, samples: s, y: y, rows: all, relativePenalty: best.penalty)
        // β = Xcᵀ α with Xc the centred rows.
        var meanX = [Double](repeating: 0, count: units)
        for r in 0..<s { for j in 0..<units { meanX[j] += x[r * units + j] } }
        for j in 0..<units { meanX[j] /= Double(s) }
        var beta = [Double](repeating: 0, count: units)
        for r in 0..<s { for j in 0..<units { beta[j] += (x[r * units + j] - meanX[j]) * fitted.alpha[r] } }
        return beta
    }

    /// A ridge fit in the dual: ŷ(x) = ȳ + Σ_a α_a·(x − x̄)·(x_a − x̄), over the training rows.
    struct DualFit {
        var rows: [Int]
        var alpha: [Double]
        var meanY: Double
        /// Mean of K(r, b) over training rows b, for every sample r; and the mean of those over the training rows.
        var rowMeans: [Double]
        var grandMean: Double

        func predict(_ k: [Double], samples s: Int, row t: Int) -> Double {
            var v = meanY
            for (a, r) in rows.enumerated() { v += alpha[a] * (k[t * s + r] - rowMeans[t] - rowMeans[r] + grandMean) }
            return v
        }
    }

    /// Ridge on `rows` with x and y centred over those rows (so the intercept is not penalised):
    /// α = (Kc + λI)⁻¹ yc, Kc the doubly centred Gram matrix of the rows.
    static func solve(gram k: [Double], samples s: Int, y: [Double], rows: [Int], relativePenalty: Double) -> DualFit {
        let m = rows.count
        var rowMeans = [Double](repeating: 0, count: s)
        for t in 0..<s { rowMeans[t] = rows.reduce(0.0) { $0 + k[t * s + $1] } / Double(m) }
        let grandMean = rows.reduce(0.0) { $0 + rowMeans[$1] } / Double(m)
        var kc = [Double](repeating: 0, count: m * m)
        for (a, r) in rows.enumerated() {
            for (b, q) in rows.enumerated() { kc[a * m + b] = k[r * s + q] - rowMeans[r] - rowMeans[q] + grandMean }
        }
        let meanDiagonal = max((0..<m).reduce(0.0) { $0 + kc[$1 * m + $1] } / Double(m), 1e-12)
        for a in 0..<m { kc[a * m + a] += relativePenalty * meanDiagonal }
        let meanY = rows.reduce(0.0) { $0 + y[$1] } / Double(m)
        let alpha = choleskySolve(kc, n: m, rows.map { y[$0] - meanY })
        return DualFit(rows: rows, alpha: alpha, meanY: meanY, rowMeans: rowMeans, grandMean: grandMean)
    }

    /// Solves A·z = b for a symmetric positive definite A (n × n, row-major); the ridge term
    /// keeps A positive definite.
    static func choleskySolve(_ a: [Double], n: Int, _ b: [Double]) -> [Double] {
        var l = [Double](repeating: 0, count: n * n)
        for i in 0..<n {
            for j in 0...i {
                var sum = a[i * n + j]
                for k in 0..<j { sum -= l[i * n + k] * l[j * n + k] }
                l[i * n + j] = i == j ? sqrt(max(sum, 1e-300)) : sum / l[j * n + j]
            }
        }
        var z = b
        for i in 0..<n {
            for k in 0..<i { z[i] -= l[i * n + k] * z[k] }
            z[i] /= l[i * n + i]
        }
        for i in stride(from: n - 1, through: 0, by: -1) {
            for k in (i + 1)..<n { z[i] -= l[k * n + i] * z[k] }
            z[i] /= l[i * n + i]
        }
        return z
    }

    /// Kendall's τ-a of two sequences (pairs tied in either count as neither concordant nor
    /// discordant); 0 for fewer than two values.
    static func kendallTau(_ a: [Double], _ b: [Double]) -> Double {
        let n = a.count
        guard n >= 2 else { return 0 }
        var score = 0.0
        for i in 0..<n {
            for j in (i + 1)..<n {
                let s = (a[i] - a[j]) * (b[i] - b[j])
                score += s > 0 ? 1 : (s < 0 ? -1 : 0)
            }
        }
        return score / Double(n * (n - 1) / 2)
    }
}
