/// Conversions from the 16-bit float formats found in checkpoints to Float.
/// Done with integer bit manipulation so the result is identical on every platform
/// (Swift's Float16 is unavailable on some targets).
@inline(__always)
public func floatFromFloat16Bits(_ h: UInt16) -> Float {
    let sign = UInt32(h & 0x8000) << 16
    let exp = UInt32(h >> 10) & 0x1F
    let mant = UInt32(h & 0x03FF)
    if exp == 0 {
        if mant == 0 { return Float(bitPattern: sign) }
        // Subnormal half: value = mant * 2^-24.
        let v = Float(mant) * (1.0 / 16_777_216.0)
        return sign != 0 ? -v : v
    }
    if exp == 0x1F {
        return Float(bitPattern: sign | 0x7F80_0000 | (mant << 13))
    }
    return Float(bitPattern: sign | ((exp + 112) << 23) | (mant << 13))
}

@inline(__always)
public func floatFromBFloat16Bits(_ b: UInt16) -> Float {
    Float(bitPattern: UInt32(b) << 16)
}

/// Round-to-nearest-even conversion to IEEE half bits (used by writers).
@inline(__always)
public func float16Bits(_ f: Float) -> UInt16 {
    let x = f.bitPattern
    let sign = UInt16((x >> 16) & 0x8000)
    let exp = Int((x >> 23) & 0xFF)
    var mant = x & 0x007F_FFFF
    if exp == 0xFF { return sign | 0x7C00 | (mant != 0 ? 0x0200 : 0) }
    var e = exp - 127 + 15
    if e >= 0x1F { return sign | 0x7C00 }
    if e <= 0 {
        if e < -10 { return sign }
        mant |= 0x0080_0000
        let shift = UInt32(14 - e)
        var half = mant >> shift
        let rem = mant & ((1 << shift) - 1)
        let halfway = UInt32(1) << (shift - 1)
        if rem > halfway || (rem == halfway && (half & 1) == 1) { half += 1 }
        return sign | UInt16(half)
    }
    var half = UInt32(e << 10) | (mant >> 13)
    let rem = mant & 0x1FFF
    if rem > 0x1000 || (rem == 0x1000 && (half & 1) == 1) { half += 1 }
    e = 0
    return sign | UInt16(truncatingIfNeeded: half)
}

@inline(__always)
public func bfloat16Bits(_ f: Float) -> UInt16 {
    let x = f.bitPattern
    if f.isNaN { return UInt16(x >> 16) | 0x0040 }
    let rounding = UInt32(0x7FFF) + ((x >> 16) & 1)
    return UInt16((x &+ rounding) >> 16)
}
