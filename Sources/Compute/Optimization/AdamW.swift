import Foundation

/// Hyper-parameters of AdamW (Loshchilov & Hutter 2019, "Decoupled Weight Decay
/// Regularization"), with torch.optim.AdamW's defaults.
public struct AdamWSettings: Codable, Equatable, Sendable {
    public var learningRate: Float
    public var beta1: Float = 0.9
    public var beta2: Float = 0.999
    public var epsilon: Float = 1e-8
    public var weightDecay: Float

    public init(learningRate: Float, weightDecay: Float = 0.01, beta1: Float = 0.9, beta2: Float = 0.999,
                epsilon: Float = 1e-8) {
        self.learningRate = learningRate; self.weightDecay = weightDecay
        self.beta1 = beta1; self.beta2 = beta2; self.epsilon = epsilon
    }
}

/// What AdamW remembers between steps (what a checkpoint saves).
public struct AdamWState: Codable, Equatable, Sendable {
    /// Steps taken (t in the bias corrections).
    public var step: Int
    public var firstMoment: [Float]     // m, one per parameter
    public var secondMoment: [Float]    // v, one per parameter

    public init(step: Int, firstMoment: [Float], secondMoment: [Float]) {
        self.step = step; self.firstMoment = firstMoment; self.secondMoment = secondMoment
    }
}

/// AdamW over one flat parameter vector, step for step as torch.optim.AdamW (foreach=False,
/// amsgrad=False):
///   t ← t + 1
///   θ ← θ · (1 − lr·λ)                               decoupled weight decay
///   m ← β1·m + (1 − β1)·g
///   v ← β2·v + (1 − β2)·g²
///   θ ← θ − (lr / (1 − β1ᵗ)) · m / (√v / √(1 − β2ᵗ) + ε)
/// Entries marked frozen (pruned weights) are left untouched: neither decayed nor moved, and
/// their moments stay zero.
public struct AdamW: Sendable {
    public let settings: AdamWSettings
    public private(set) var state: AdamWState

    public init(settings: AdamWSettings, parameterCount n: Int) {
        self.settings = settings
        state = AdamWState(step: 0, firstMoment: [Float](repeating: 0, count: n),
                           secondMoment: [Float](repeating: 0, count: n))
    }

    /// Continues from a saved state (`state.firstMoment.count` parameters).
    public init(settings: AdamWSettings, state: AdamWState) {
        precondition(state.firstMoment.count == state.secondMoment.count, "AdamW moments differ in size")
        self.settings = settings; self.state = state
    }

    public var parameterCount: Int { state.firstMoment.count }

    /// One update of `parameters` by `gradients` at `learningRate` (the schedule's value for
    /// this step; `settings.learningRate` is the peak).
    public mutating func step(parameters p: UnsafeMutablePointer<Float>, gradients g: UnsafePointer<Float>, count n: Int,
                              learningRate lr: Float, frozen: UnsafePointer<Bool>? = nil) {
        precondition(n == parameterCount, "AdamW holds \(parameterCount) parameters, got \(n)")
        state.step += 1
        let s = settings, t = Double(state.step)
        // torch computes the bias corrections in double from Python floats, then rounds.
        let stepSize = Float(Double(lr) / (1 - pow(Double(s.beta1), t)))
        let correction2Sqrt = Float((1 - pow(Double(s.beta2), t)).squareRoot())
        let decay = 1 - lr * s.weightDecay
        let b1 = s.beta1, b2 = s.beta2, eps = s.epsilon
        state.firstMoment.withUnsafeMutableBufferPointer { m in
            state.secondMoment.withUnsafeMutableBufferPointer { v in
                for j in 0..<n {
                    if let frozen, frozen[j] { continue }
                    let gj = g[j]
                    var pj = p[j] * decay
                    let mj = b1 * m[j] + (1 - b1) * gj
                    let vj = b2 * v[j] + (1 - b2) * gj * gj
                    m[j] = mj; v[j] = vj
                    let denom = vj.squareRoot() / correction2Sqrt + eps
                    pj -= stepSize * (mj / denom)
                    p[j] = pj
                }
            }
        }
    }

    /// Convenience over arrays.
    public mutating func step(parameters: inout [Float], gradients: [Float], learningRate: Float, frozen: [Bool]? = nil) {
        precondition(parameters.count == gradients.count, "parameters and gradients differ in size")
        let n = parameters.count
        parameters.withUnsafeMutableBufferPointer { p in
            gradients.withUnsafeBufferPointer { g in
                if let frozen {
                    precondition(frozen.count == n, "frozen mask size")
                    frozen.withUnsafeBufferPointer { f in
                        step(parameters: p.baseAddress!, gradients: g.baseAddress!, count: n, learningRate: learningRate,
                             frozen: f.baseAddress!)
                    }
                } else {
                    step(parameters: p.baseAddress!, gradients: g.baseAddress!, count: n, learningRate: learningRate)
                }
            }
        }
    }
}
