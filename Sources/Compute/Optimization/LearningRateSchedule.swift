import Foundation

/// How the learning rate moves over a run, as transformers' get_*_schedule_with_warmup: a
/// linear warm-up from 0 over `warmupSteps`, then constant, linear decay to 0 at
/// `totalSteps`, or half a cosine down to 0.
public enum LearningRateSchedule: String, Codable, CaseIterable, Sendable {
    case constant
    case linear
    case cosine

    /// The rate for optimizer step k (0-based; what `scheduler.get_last_lr()` reads before
    /// the k-th `optimizer.step()`).
    public func learningRate(step k: Int, peak: Float, warmupSteps w: Int, totalSteps n: Int) -> Float {
        if k < w { return peak * Float(Double(k) / Double(max(1, w))) }
        switch self {
        case .constant:
            return peak
        case .linear:
            return peak * Float(max(0, Double(n - k) / Double(max(1, n - w))))
        case .cosine:
            let progress = Double(k - w) / Double(max(1, n - w))
            return peak * Float(max(0, 0.5 * (1 + cos(Double.pi * progress))))
        }
    }
}
