/// exp(x) for float32 without a libm call, so loops over it vectorise.
/// Cody–Waite range reduction x = n·ln2 + r with |r| ≤ ln2/2, then a degree-6 polynomial
/// for e^r (Taylor coefficients; max relative error ≈ 2e-7 on the reduced range), scaled
/// by 2^n through the exponent bits. Inputs below −87.3 flush to 0 (softmax only needs that).
@inline(__always)
public func fastExp(_ x: Float) -> Float {
    let clamped = min(max(x, -87.3), 88.7)
    let n = (clamped * 1.442_695_04).rounded(.toNearestOrEven)
    var r = clamped - n * 0.693_145_75       // ln2 split in a high part …
    r = r - n * 1.428_606_8e-6               // … and a low part, so r stays exact-ish
    var p: Float = 1.0 / 720.0
    p = p * r + 1.0 / 120.0
    p = p * r + 1.0 / 24.0
    p = p * r + 1.0 / 6.0
    p = p * r + 0.5
    p = p * r + 1.0
    p = p * r + 1.0
    let scale = Float(bitPattern: UInt32(bitPattern: Int32(n) + 127) << 23)
    return x < -87.3 ? 0 : p * scale
}

/// In-place softmax of one row's first `count` entries; returns nothing, rows sum to 1.
@inline(__always)
public func softmaxInPlace(_ row: UnsafeMutablePointer<Float>, count: Int) {
    var m = -Float.infinity
    for j in 0..<count { m = max(m, row[j]) }
    var sum: Float = 0
    for j in 0..<count { let e = fastExp(row[j] - m); row[j] = e; sum += e }
    let inv = 1 / sum
    for j in 0..<count { row[j] *= inv }
}

/// log Σ exp(x_j) over `count` entries, computed stably (max subtracted first).
@inline(__always)
public func logSumExp(_ row: UnsafePointer<Float>, count: Int) -> Float {
    var m = -Float.infinity
    for j in 0..<count { m = max(m, row[j]) }
    var sum: Float = 0
    for j in 0..<count { sum += fastExp(row[j] - m) }
    return m + logf(sum)
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
