/// exp(x) for float32 without a libm call, eight lanes at a time (AVX2 width), so the
/// softmax and log-sum-exp loops that dominate attention and the loss run at vector speed.
/// Cody–Waite range reduction x = n·ln2 + r with |r| ≤ ln2/2, a degree-6 Taylor polynomial
/// for e^r (max relative error ≈ 2e-7 on that range), then 2^n through the exponent bits.
/// n is rounded with the 1.5·2²³ trick, which also leaves n in the low mantissa bits.
/// Inputs are clamped to [−87.3, 88.7]; below that the result is ≈ 1e-38, not 0.
@inline(__always)
public func fastExp(_ x: SIMD8<Float>) -> SIMD8<Float> {
    // Compare-and-select, not `clamped`: the generic SIMD min/max are not inlined and
    // cost 4× the whole polynomial.
    let lo = SIMD8<Float>(repeating: -87.3), hi = SIMD8<Float>(repeating: 88.7)
    var xc = x.replacing(with: lo, where: x .< lo)
    xc = xc.replacing(with: hi, where: xc .> hi)
    let magic: Float = 12_582_912            // 1.5 · 2²³
    let t = xc * 1.442_695_04 + magic
    let n = t - magic
    var r = xc - n * 0.693_145_751_953_125   // ln2, high part (exact in float)
    r = r - n * 1.428_606_765_330_187e-6     // ln2, low part
    var p = SIMD8<Float>(repeating: 1.0 / 720.0)
    p = p * r + 1.0 / 120.0
    p = p * r + 1.0 / 24.0
    p = p * r + 1.0 / 6.0
    p = p * r + 0.5
    p = p * r + 1.0
    p = p * r + 1.0
    let ni = unsafeBitCast(t, to: SIMD8<Int32>.self) &- 0x4B40_0000
    let scale = unsafeBitCast((ni &+ 127) &<< 23, to: SIMD8<Float>.self)
    return p * scale
}

@inline(__always)
public func fastExp(_ x: Float) -> Float {
    fastExp(SIMD8<Float>(repeating: x))[0]
}

@inline(__always)
func loadVector(_ p: UnsafePointer<Float>) -> SIMD8<Float> {
    UnsafeRawPointer(p).loadUnaligned(as: SIMD8<Float>.self)
}

@inline(__always)
func storeVector(_ v: SIMD8<Float>, _ p: UnsafeMutablePointer<Float>) {
    UnsafeMutableRawPointer(p).storeBytes(of: v, as: SIMD8<Float>.self)
}

/// Maximum of the first `count` entries.
@inline(__always)
public func maximum(_ row: UnsafePointer<Float>, count: Int) -> Float {
    var m8 = SIMD8<Float>(repeating: -.infinity)
    var j = 0
    while j + 8 <= count {
        let v = loadVector(row + j)
        m8 = m8.replacing(with: v, where: v .> m8)
        j += 8
    }
    var m = m8.max()
    while j < count { m = max(m, row[j]); j += 1 }
    return m
}

/// In-place softmax of one row's first `count` entries.
@inline(__always)
public func softmaxInPlace(_ row: UnsafeMutablePointer<Float>, count: Int) {
    let m = SIMD8<Float>(repeating: maximum(row, count: count))
    var s8 = SIMD8<Float>(repeating: 0)
    var j = 0
    while j + 8 <= count {
        let e = fastExp(loadVector(row + j) - m)
        storeVector(e, row + j); s8 += e; j += 8
    }
    var sum = s8.sum()
    while j < count { let e = fastExp(row[j] - m[0]); row[j] = e; sum += e; j += 1 }
    let inv = SIMD8<Float>(repeating: 1 / sum)
    j = 0
    while j + 8 <= count { storeVector(loadVector(row + j) * inv, row + j); j += 8 }
    while j < count { row[j] *= inv[0]; j += 1 }
}

/// log Σ exp(x_j) over `count` entries, computed stably (max subtracted first).
@inline(__always)
public func logSumExp(_ row: UnsafePointer<Float>, count: Int) -> Float {
    let mx = maximum(row, count: count)
    let m = SIMD8<Float>(repeating: mx)
    var s8 = SIMD8<Float>(repeating: 0)
    var j = 0
    while j + 8 <= count { s8 += fastExp(loadVector(row + j) - m); j += 8 }
    var sum = s8.sum()
    while j < count { sum += fastExp(row[j] - mx); j += 1 }
    return mx + logf(sum)
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
