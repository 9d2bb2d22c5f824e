/// Scores of one weight tensor's channels: a channel is a row (output channel) or a column
/// (input channel) of a row-major [rows × cols] matrix; a vector (norm weight) is a 1-row matrix.
///
/// Element saliences follow LLM-Pruner's importance classes: |w| (l1), w² (l2), and the Taylor
/// terms s = w·g (first), s = w·F·w (second), s = w·g − ½·w·F·w (mix). A channel's score is the
/// sum of |s| over its elements ("param" level, element-wise), or |Σ s| for `vectorize`.
public struct ChannelSalience {
    public enum Element: Sendable {
        case l1, l2
        case taylor(TaylorOrder)
    }

    public let element: Element

    public init(_ element: Element) { self.element = element }

    /// One score per row (`alongRows`) or per column, in Double to keep sums over millions exact enough.
    public func scores(weight: [Float], gradient: [Float]?, fisher: [Float]?, rows: Int, cols: Int,
                       alongRows: Bool) -> [Double] {
        precondition(weight.count == rows * cols)
        var out = [Double](repeating: 0, count: alongRows ? rows : cols)
        var vectorwise = false
        if case .taylor(.vectorize) = element { vectorwise = true }
        let grad = gradient ?? [], fish = fisher ?? []
        precondition(grad.isEmpty || grad.count == weight.count, "gradient shaped unlike the weight")
        precondition(fish.isEmpty || fish.count == weight.count, "Fisher shaped unlike the weight")
        let hasG = !grad.isEmpty, hasF = !fish.isEmpty
        weight.withUnsafeBufferPointer { w in
            grad.withUnsafeBufferPointer { g in
                fish.withUnsafeBufferPointer { f in
                    out.withUnsafeMutableBufferPointer { o in
                        for r in 0..<rows {
                            var rowSum = 0.0
                            let base = r * cols
                            for j in 0..<cols {
                                let s = salience(w[base + j], hasG ? g[base + j] : 0, hasF ? f[base + j] : 0)
                                if alongRows { rowSum += s } else { o[j] += s }
                            }
                            if alongRows { o[r] = rowSum }
                        }
                        if vectorwise { for i in o.indices { o[i] = abs(o[i]) } }
                    }
                }
            }
        }
        return out
    }

    /// Element salience; for `vectorize` signed (the absolute value is taken per channel).
    @inline(__always)
    func salience(_ w: Float, _ g: Float, _ f: Float) -> Double {
        let w = Double(w), g = Double(g), f = Double(f)
        switch element {
        case .l1: return abs(w)
        case .l2: return w * w
        case .taylor(.first): return abs(w * g)
        case .taylor(.second): return abs(w * f * w)
        case .taylor(.mix): return abs(w * g - 0.5 * w * f * w)
        case .taylor(.vectorize): return w * g
        }
    }
}
