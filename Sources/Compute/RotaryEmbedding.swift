import Foundation

/// Rotary position embedding (Su et al. 2021, "RoFormer") in the Hugging Face Llama
/// convention: dimension i is paired with i + d/2 ("rotate_half"), not with i+1.
/// Frequencies follow transformers' float32 arithmetic so logits agree to ~1e-6.
public final class RotaryEmbedding: @unchecked Sendable {
    public let headDim: Int
    public let inverseFrequencies: [Float]
    private var cosTable: [Float] = []   // [positions × headDim/2]
    private var sinTable: [Float] = []
    private var positions = 0
    private let lock = NSLock()

    /// `scaling`: nil, or (type "llama3", factor, low, high, originalMax) / (type "linear", factor).
    public init(headDim: Int, theta: Float, scalingType: String? = nil, factor: Float = 1,
                lowFreqFactor: Float = 1, highFreqFactor: Float = 4, originalMaxPositions: Int = 8192,
                frequencyDivisors: [Float]? = nil) {
        self.headDim = headDim
        let half = headDim / 2
        var inv = [Float](repeating: 0, count: half)
        for i in 0..<half {
            // base ** (arange(0, d, 2) / d), then 1 / that — both in float32, as torch does.
            let exponent = Float(2 * i) / Float(headDim)
            inv[i] = 1 / powf(theta, exponent)
        }
        if let divisors = frequencyDivisors, divisors.count == half {
            for i in 0..<half { inv[i] /= divisors[i] }
            inverseFrequencies = inv
            return
        }
        switch scalingType {
        case "llama3":
            // Llama 3.1 frequency-dependent scaling (transformers `_compute_llama3_parameters`).
            let old = Float(originalMaxPositions)
            let lowWavelen = old / lowFreqFactor
            let highWavelen = old / highFreqFactor
            for i in 0..<half {
                let wavelen = 2 * Float.pi / inv[i]
                var f = wavelen > lowWavelen ? inv[i] / factor : inv[i]
                let isMedium = !(wavelen < highWavelen) && !(wavelen > lowWavelen)
                if isMedium {
                    let smooth = (old / wavelen - lowFreqFactor) / (highFreqFactor - lowFreqFactor)
                    f = (1 - smooth) * f / factor + smooth * f
                }
                inv[i] = f
            }
        case "linear":
            for i in 0..<half { inv[i] /= factor }
        default:
            break
        }
        inverseFrequencies = inv
    }

    private func ensure(_ needed: Int) {
        if needed <= positions { return }
        lock.lock(); defer { lock.unlock() }
        if needed <= positions { return }
        let n = max(needed, positions * 2, 256)
        let half = headDim / 2
        var c = [Float](repeating: 0, count: n * half), s = c
        for p in 0..<n {
            for i in 0..<half {
                let angle = Float(p) * inverseFrequencies[i]
                c[p * half + i] = cosf(angle)
                s[p * half + i] = sinf(angle)
            }
        }
        cosTable = c; sinTable = s; positions = n
    }

    /// Rotates, in place, `heads` heads of each of `rows` rows of x (row stride `rowStride`),
    /// row r being at absolute position startPosition + r.
    public func apply(_ x: UnsafeMutablePointer<Float>, rows: Int, heads: Int, rowStride: Int, startPosition: Int) {
        ensure(startPosition + rows)
        let half = headDim / 2
        cosTable.withUnsafeBufferPointer { cb in
            sinTable.withUnsafeBufferPointer { sb in
                let cbase = cb.baseAddress!, sbase = sb.baseAddress!
                parallelFor(rows, minPerThread: 32) { r0, r1 in
                    for r in r0..<r1 {
                        let cr = cbase + (startPosition + r) * half, sr = sbase + (startPosition + r) * half
                        for h in 0..<heads {
                            let v = x + r * rowStride + h * self.headDim
                            for i in 0..<half {
                                let a = v[i], b = v[i + half]
                                v[i] = a * cr[i] - b * sr[i]
                                v[i + half] = b * cr[i] + a * sr[i]
                            }
                        }
                    }
                }
            }
        }
    }
}
