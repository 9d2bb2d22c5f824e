// Scalar pieces both kernel files share: little-endian loads and the 16-bit float formats.
#ifndef DECODE_KERNELS_SCALAR_H
#define DECODE_KERNELS_SCALAR_H

#include <stdint.h>
#include <string.h>

#if defined(__AVX2__) && defined(__FMA__) && defined(__F16C__)
#define DK_AVX2 1
#include <immintrin.h>
#endif

static inline uint16_t dk_u16(const uint8_t *p) { uint16_t v; memcpy(&v, p, 2); return v; }
static inline uint32_t dk_u32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }
static inline float dk_f32(const uint8_t *p) { float v; memcpy(&v, p, 4); return v; }

static inline float dk_bits_f32(uint32_t b) { float f; memcpy(&f, &b, 4); return f; }

/// IEEE binary16 → binary32 (exact: subnormals, infinities and NaNs kept).
static inline float dk_half(uint16_t h) {
#ifdef DK_AVX2
    return _cvtsh_ss(h);
#else
    uint32_t sign = (uint32_t)(h & 0x8000) << 16, exp = (h >> 10) & 0x1F, man = h & 0x3FF;
    if (exp == 0x1F) return dk_bits_f32(sign | 0x7F800000u | (man << 13));
    if (exp != 0) return dk_bits_f32(sign | ((exp + 112) << 23) | (man << 13));
    float f = (float)man * (1.0f / 16777216.0f);   // subnormal: man · 2^-24
    return sign ? -f : f;
#endif
}

/// bfloat16 → binary32: the top half of the bits.
static inline float dk_bfloat(uint16_t b) { return dk_bits_f32((uint32_t)b << 16); }

#ifdef DK_AVX2
static inline float dk_hsum(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}
#endif

#endif
