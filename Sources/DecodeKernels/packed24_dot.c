// Batch-1 dot products of packed 2:4 / 1:4 rows (layout: Compute/Sparse/Packed24Matrix.swift).
//
// A chunk covers 32 columns (8 groups of 4). Its kept values are stored in the order an
// in-lane permute produces them, so the x under 8 kept values is gathered with two (2:4) or
// four (1:4) vpermilps of plain x loads and blends — no gathers, no lookup tables. Kept value j
// of a chunk has its offset in code bits 2j, 2j+1; vpermilps reads only the low 2 bits of
// each index lane, so the index vector is the chunk's code shifted by 2j per lane.
//
//   2:4, kept j = 8k + L (k = 0, 1: columns 16k…16k+15 of the chunk; L = 4h + p):
//        group 4k + 2·(p / 2) + h, slot p mod 2
//   1:4, kept j = L = 4h + p: group 2p + h
#include "DecodeKernels.h"
#include "scalar.h"

// The chunk's group under kept value j (0 ≤ j < 8 · keep).
static inline int dk_group(int keep, int j) {
    const int L = j & 7, h = L >> 2, p = L & 3;
    return keep == 2 ? 4 * (j >> 3) + 2 * (p >> 1) + h : 2 * p + h;
}

// Kept value j of a row as a float; Q8_0: without its block's scale.
static inline float dk_value(int type, const uint8_t *v, size_t j) {
    switch (type) {
    case DK_F32: return dk_f32(v + 4 * j);
    case DK_F16: return dk_half(dk_u16(v + 2 * j));
    case DK_BF16: return dk_bfloat(dk_u16(v + 2 * j));
    default: return (float)(int8_t)v[34 * (j / 32) + 2 + j % 32];
    }
}

__attribute__((unused)) static float dk_row_scalar(int type, int keep, const uint8_t *v, const uint32_t *codes, size_t chunks, const float *x) {
    float acc = 0, block = 0;
    size_t j = 0;
    for (size_t c = 0; c < chunks; c++) {
        for (int i = 0; i < 8 * keep; i++, j++) {
            const int offset = (codes[c] >> (2 * i)) & 3;
            block += dk_value(type, v, j) * x[32 * c + 4 * dk_group(keep, i) + offset];
            if (type != DK_VALUES_Q8_0) { acc += block; block = 0; }
            else if (j % 32 == 31) { acc += block * dk_half(dk_u16(v + 34 * (j / 32))); block = 0; }
        }
    }
    return acc;
}

#ifdef DK_AVX2
// Eight kept values starting at j.
static inline __m256 dk_values8(int type, const uint8_t *v, size_t j) {
    switch (type) {
    case DK_F32: return _mm256_loadu_ps((const float *)(v + 4 * j));
    case DK_F16: return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(v + 2 * j)));
    case DK_BF16:
        return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)(v + 2 * j))), 16));
    default: {
        int64_t q;
        memcpy(&q, v + 34 * (j / 32) + 2 + j % 32, 8);
        return _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_cvtsi64_si128(q)));
    }
    }
}

// One 2:4 chunk: the x under its 16 kept values (two in-lane permutes of plain loads and a
// blend per 8) times the values v0, v1, into two accumulators.
static inline __attribute__((always_inline)) void dk_chunk24(const float *xc, uint32_t code, __m256 v0, __m256 v1,
                                                             __m256 *a0, __m256 *a1) {
    const __m256i lanes = _mm256_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14);
    const __m256i cv = _mm256_set1_epi32((int)code);
    const __m256i i0 = _mm256_srlv_epi32(cv, lanes), i1 = _mm256_srli_epi32(i0, 16);
    const __m256 x0 = _mm256_blend_ps(_mm256_permutevar_ps(_mm256_loadu_ps(xc), i0),
                                      _mm256_permutevar_ps(_mm256_loadu_ps(xc + 8), i0), 0xCC);
    const __m256 x1 = _mm256_blend_ps(_mm256_permutevar_ps(_mm256_loadu_ps(xc + 16), i1),
                                      _mm256_permutevar_ps(_mm256_loadu_ps(xc + 24), i1), 0xCC);
    *a0 = _mm256_fmadd_ps(v0, x0, *a0);
    *a1 = _mm256_fmadd_ps(v1, x1, *a1);
}

static inline __attribute__((always_inline)) float dk_row_avx2(int type, int keep, const uint8_t *v, const uint32_t *codes, size_t chunks, const float *x) {
    const __m256i lanes = _mm256_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14);
    const int q8 = type == DK_VALUES_Q8_0;
    // Independent FMA chains (even and odd chunks); Q8_0 folds them into acc with the block's
    // scale after each 32 kept values (2 chunks at 2:4, 4 at 1:4).
    __m256 acc = _mm256_setzero_ps();
    __m256 b0 = _mm256_setzero_ps(), b1 = _mm256_setzero_ps(), b2 = _mm256_setzero_ps(), b3 = _mm256_setzero_ps();
    if (keep == 2) {
        // Two chunks (64 columns, 32 kept values: one Q8_0 value block) per step.
        size_t c = 0;
        for (; c + 2 <= chunks; c += 2) {
            const __m256 d = q8 ? _mm256_set1_ps(dk_half(dk_u16(v + 34 * (c / 2)))) : _mm256_setzero_ps();
            __m256 t0 = b0, t1 = b1, t2 = b2, t3 = b3;
            if (q8) t0 = t1 = t2 = t3 = _mm256_setzero_ps();
            dk_chunk24(x + 32 * c, codes[c], dk_values8(type, v, 16 * c), dk_values8(type, v, 16 * c + 8), &t0, &t1);
            dk_chunk24(x + 32 * c + 32, codes[c + 1], dk_values8(type, v, 16 * c + 16), dk_values8(type, v, 16 * c + 24), &t2, &t3);
            if (q8) {
                acc = _mm256_fmadd_ps(_mm256_add_ps(_mm256_add_ps(t0, t1), _mm256_add_ps(t2, t3)), d, acc);
            } else {
                b0 = t0; b1 = t1; b2 = t2; b3 = t3;
            }
        }
        if (c < chunks)   // an odd last chunk (float values only: Q8_0 rows hold whole blocks)
            dk_chunk24(x + 32 * c, codes[c], dk_values8(type, v, 16 * c), dk_values8(type, v, 16 * c + 8), &b0, &b1);
    } else {
        for (size_t c = 0; c < chunks; c++) {
            const __m256i idx = _mm256_srlv_epi32(_mm256_set1_epi32((int)codes[c]), lanes);
            const float *xc = x + 32 * c;
            const __m256 xa = _mm256_permutevar_ps(_mm256_loadu_ps(xc), idx);
            const __m256 xb = _mm256_permutevar_ps(_mm256_loadu_ps(xc + 8), idx);
            const __m256 xk = _mm256_permutevar_ps(_mm256_loadu_ps(xc + 16), idx);
            const __m256 xd = _mm256_permutevar_ps(_mm256_loadu_ps(xc + 24), idx);
            const __m256 xs = _mm256_blend_ps(_mm256_blend_ps(_mm256_blend_ps(xa, xb, 0x22), xk, 0x44), xd, 0x88);
            if (c & 1) b1 = _mm256_fmadd_ps(dk_values8(type, v, 8 * c), xs, b1);
            else b0 = _mm256_fmadd_ps(dk_values8(type, v, 8 * c), xs, b0);
            if (q8 && (c & 3) == 3) {
                acc = _mm256_fmadd_ps(_mm256_add_ps(b0, b1), _mm256_set1_ps(dk_half(dk_u16(v + 34 * (c / 4)))), acc);
                b0 = b1 = _mm256_setzero_ps();
            }
        }
    }
    if (!q8) acc = _mm256_add_ps(_mm256_add_ps(b0, b1), _mm256_add_ps(b2, b3));
    return dk_hsum(acc);
}
#endif

// Rows with the value type a constant, so each type gets its own loop.
#ifdef DK_AVX2
#define DK_ROW dk_row_avx2
#else
#define DK_ROW dk_row_scalar
#endif
#define DK_ROWS(T)                                                                                     \
    for (size_t r = r0; r < r1; r++) {                                                                 \
        const float d = DK_ROW(T, keep, values + r * row_bytes, codes + r * chunks, chunks, x);          \
        y[r] = accumulate ? y[r] + d : d;                                                              \
    }

void dk_packed24_rows(int value_type, int keep, const uint8_t *values, size_t row_bytes, const uint32_t *codes,
                      size_t chunks, const float *x, size_t r0, size_t r1, float *y, int accumulate) {
    switch (value_type) {
    case DK_F32: DK_ROWS(DK_F32) break;
    case DK_F16: DK_ROWS(DK_F16) break;
    case DK_BF16: DK_ROWS(DK_BF16) break;
    default: DK_ROWS(DK_VALUES_Q8_0) break;
    }
}
