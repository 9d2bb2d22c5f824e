// Batch-1 dot products of bitmap rows (layout: Compute/Sparse/BitmapMatrix.swift): one bit per
// column (bit j of mask byte b: column 8b + j is kept) and the kept values packed in column order.
//
// CSR pays a 2-byte index and a scalar gather per kept value; here a kept value costs its own
// bytes plus 1/8 byte per column, and x is read with plain vector loads. For 8 columns with mask
// byte m, the next popcount(m) values are loaded as one vector and moved to their columns by
// one vpermps (an index table per mask byte), the lanes of dropped columns zeroed by a blend on
// the same table's sign bits, then one FMA with x. Four mask bytes (32 columns) are read at once so that the four
// value offsets come from independent popcounts and the value pointer moves once per 32
// columns. A vector load reads up to 7 values past a row's last kept value: the value storage
// is padded by 8 values (`BitmapMatrix.paddingValues`).
#include "DecodeKernels.h"
#include "scalar.h"

static inline float dk_bitmap_value(int type, const uint8_t *v, size_t k) {
    switch (type) {
    case DK_F32: return dk_f32(v + 4 * k);
    case DK_F16: return dk_half(dk_u16(v + 2 * k));
    default: return dk_bfloat(dk_u16(v + 2 * k));
    }
}

__attribute__((unused)) static float dk_bitmap_row_scalar(int type, const uint8_t *masks, size_t columns,
                                                          const uint8_t *v, const float *x) {
    float acc = 0;
    size_t k = 0;
    for (size_t c = 0; c < columns; c++) {
        if (masks[c >> 3] >> (c & 7) & 1) acc += dk_bitmap_value(type, v, k++) * x[c];
    }
    return acc;
}

#ifdef DK_AVX2
// Per mask byte m: lane j takes value number popcount(m & ((1 << j) − 1)) (the kept values
// before column j). vpermps reads only the low 3 bits of an index lane, so the sign bit is free
// to say whether column j is kept, and vblendvps keeps the lane or zero by it.
static int32_t dk_expand_index[256][8] __attribute__((aligned(32)));

__attribute__((constructor)) static void dk_bitmap_tables(void) {
    for (int m = 0; m < 256; m++) {
        int k = 0;
        for (int j = 0; j < 8; j++) {
            const int on = m >> j & 1;
            dk_expand_index[m][j] = on ? (int32_t)(0x80000000u | (uint32_t)k) : 0;
            k += on;
        }
    }
}

// Eight values starting at value k, as float32.
static inline __m256 dk_bitmap_values8(int type, const uint8_t *v, size_t k) {
    switch (type) {
    case DK_F32: return _mm256_loadu_ps((const float *)(v + 4 * k));
    case DK_F16: return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(v + 2 * k)));
    default:
        return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)(v + 2 * k))), 16));
    }
}

// The 8 columns under mask byte m, values from value k on, times x.
static inline __m256 dk_bitmap_fma(int type, const uint8_t *v, size_t k, uint32_t m, const float *x, __m256 acc) {
    const __m256i index = _mm256_load_si256((const __m256i *)dk_expand_index[m]);
    const __m256 kept = _mm256_blendv_ps(_mm256_setzero_ps(), _mm256_permutevar8x32_ps(dk_bitmap_values8(type, v, k), index),
                                         _mm256_castsi256_ps(index));
    return _mm256_fmadd_ps(kept, _mm256_loadu_ps(x), acc);
}

static inline __attribute__((always_inline)) float dk_bitmap_row(int type, const uint8_t *masks, size_t columns,
                                                                 const uint8_t *v, const float *x) {
    __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps(), a2 = _mm256_setzero_ps(), a3 = _mm256_setzero_ps();
    size_t k = 0;
    for (size_t c = 0; c < columns; c += 32) {
        const uint32_t w = dk_u32(masks + c / 8);
        const size_t k1 = k + (size_t)__builtin_popcount(w & 0xFFu), k2 = k + (size_t)__builtin_popcount(w & 0xFFFFu),
                     k3 = k + (size_t)__builtin_popcount(w & 0xFFFFFFu);
        a0 = dk_bitmap_fma(type, v, k, w & 0xFF, x + c, a0);
        a1 = dk_bitmap_fma(type, v, k1, (w >> 8) & 0xFF, x + c + 8, a1);
        a2 = dk_bitmap_fma(type, v, k2, (w >> 16) & 0xFF, x + c + 16, a2);
        a3 = dk_bitmap_fma(type, v, k3, w >> 24, x + c + 24, a3);
        k += (size_t)__builtin_popcount(w);
    }
    return dk_hsum(_mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)));
}
#endif

#define DK_BITMAP_ROWS(T, ROW)                                                                          \
    for (size_t r = r0; r < r1; r++) {                                                                  \
        const float d = ROW(T, masks + r * (columns / 8), columns, values + value_bytes * (size_t)row_start[r], x); \
        y[r] = accumulate ? y[r] + d : d;                                                               \
    }

void dk_bitmap_rows(int value_type, const uint8_t *masks, size_t columns, const uint8_t *values,
                    const int32_t *row_start, const float *x, size_t r0, size_t r1, float *y, int accumulate) {
    const size_t value_bytes = value_type == DK_F32 ? 4 : 2;
#ifdef DK_AVX2
    if (columns % 32 == 0) {
        switch (value_type) {
        case DK_F32: DK_BITMAP_ROWS(DK_F32, dk_bitmap_row) return;
        case DK_F16: DK_BITMAP_ROWS(DK_F16, dk_bitmap_row) return;
        default: DK_BITMAP_ROWS(DK_BF16, dk_bitmap_row) return;
        }
    }
#endif
    DK_BITMAP_ROWS(value_type, dk_bitmap_row_scalar)
}
