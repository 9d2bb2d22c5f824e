import LLM

/// ShortGPT's Block Influence (Men et al. 2024, Eq. 1): BI_i = 1 − E_t[cos(x_i,t, x_{i+1},t)],
/// the expected cosine distance between the hidden state entering layer i and leaving it, over
/// all calibration tokens t. A layer that barely turns the residual stream has low BI and is
/// the first to drop.
public enum BlockInfluence {
    /// BI of every layer, from one layer-by-layer pass over each window.
    public static func scores(model: LanguageModel, windows: [[Int32]]) throws -> [Double] {
        guard !windows.isEmpty else { throw StructuredPruningError.invalidSetting("Block Influence needs calibration windows") }
        let d = model.hiddenSize, n = model.layerCount
        var sum = [Double](repeating: 0, count: n)
        var tokens = 0
        for w in windows {
            var h = try model.embed(w)
            for i in 0..<n {
                let before = h
                try model.runLayers(i..<(i + 1), hidden: &h)
                for r in 0..<w.count {
                    var dot = 0.0, a2 = 0.0, b2 = 0.0
                    for j in 0..<d {
                        let a = Double(before[r * d + j]), b = Double(h[r * d + j])
                        dot += a * b; a2 += a * a; b2 += b * b
                    }
                    let denom = (a2 * b2).squareRoot()
                    sum[i] += 1 - (denom > 0 ? dot / denom : 1)
                }
            }
            tokens += w.count
        }
        return sum.map { $0 / Double(tokens) }
    }
}
