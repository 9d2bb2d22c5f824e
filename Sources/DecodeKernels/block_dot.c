// Batch-1 products of weights in ggml's Q8_0 / Q4_0 / Q4_1 blocks with x quantized to 8 bits
// per block of 32 (as llama.cpp's CPU backend does: ggml_vec_dot_q8_0_q8_0, _q4_0_q8_0,
// _q4_1_q8_1). The products of two 8-bit integers summed over a block are exact in int32, so
// a block costs one byte multiply-add chain and one float FMA with d_w · d_x instead of 32
// float FMAs; x's quantization is the only rounding added (≤ d_x / 2 per value).
//
//   Q8_0:  Σ_i (q_w,i · d_w)(q_x,i · d_x)          = d_w d_x Σ q_w q_x
//   Q4_0:  Σ_i ((n_i − 8) · d_w)(q_x,i · d_x)      = d_w d_x Σ (n − 8) q_x
//   Q4_1:  Σ_i (n_i · d_w + m)(q_x,i · d_x)        = d_w d_x Σ n q_x + m · s_x
#include "DecodeKernels.h"
#include "scalar.h"
#include <math.h>

void dk_quantize_q8(const float *x, size_t blocks, dk_q8_block *out) {
    for (size_t b = 0; b < blocks; b++) {
        const float *v = x + 32 * b;
        float amax = 0;
        for (int i = 0; i < 32; i++) amax = fmaxf(amax, fabsf(v[i]));
        const float d = amax / 127.0f, id = amax != 0 ? 127.0f / amax : 0.0f;
        int sum = 0;
        for (int i = 0; i < 32; i++) {
            const int q = (int)nearbyintf(v[i] * id);   // ties to even (the default rounding mode)
            out[b].q[i] = (int8_t)q;
            sum += q;
        }
        out[b].d = d;
        out[b].s = d * (float)sum;
    }
}

#ifdef DK_AVX2
// Σ over pairs of a_i · b_i for signed bytes, as 8 floats (sums of 4 products each): the sign
// of a moves onto b so that maddubs (unsigned × signed) applies. b = x never holds −128.
static inline __m256 dk_dot_i8(__m256i a, __m256i b) {
    const __m256i p = _mm256_maddubs_epi16(_mm256_sign_epi8(a, a), _mm256_sign_epi8(b, a));
    return _mm256_cvtepi32_ps(_mm256_madd_epi16(p, _mm256_set1_epi16(1)));
}

// The 32 nibbles of a Q4 block in value order: low nibbles (values 0–15), then high (16–31).
static inline __m256i dk_nibbles(const uint8_t *qs) {
    const __m128i t = _mm_loadu_si128((const __m128i *)qs);
    const __m256i both = _mm256_insertf128_si256(_mm256_castsi128_si256(t), _mm_srli_epi16(t, 4), 1);
    return _mm256_and_si256(both, _mm256_set1_epi8(0x0F));
}

static inline __attribute__((always_inline)) float dk_row(int type, const uint8_t *w, size_t blocks, const dk_q8_block *x) {
    __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps();
    float offset = 0;
    for (size_t b = 0; b < blocks; b++) {
        const __m256i q = _mm256_loadu_si256((const __m256i *)x[b].q);
        __m256 p;
        float scale;
        if (type == DK_Q8_0) {
            const uint8_t *blk = w + 34 * b;
            scale = dk_half(dk_u16(blk)) * x[b].d;
            p = dk_dot_i8(_mm256_loadu_si256((const __m256i *)(blk + 2)), q);
        } else if (type == DK_Q4_0) {
            const uint8_t *blk = w + 18 * b;
            scale = dk_half(dk_u16(blk)) * x[b].d;
            p = dk_dot_i8(_mm256_sub_epi8(dk_nibbles(blk + 2), _mm256_set1_epi8(8)), q);
        } else {
            const uint8_t *blk = w + 20 * b;
            scale = dk_half(dk_u16(blk)) * x[b].d;
            offset += dk_half(dk_u16(blk + 2)) * x[b].s;
            const __m256i n = _mm256_maddubs_epi16(dk_nibbles(blk + 4), q);   // nibbles are unsigned
            p = _mm256_cvtepi32_ps(_mm256_madd_epi16(n, _mm256_set1_epi16(1)));
        }
        if (b & 1) a1 = _mm256_fmadd_ps(_mm256_set1_ps(scale), p, a1);
        else a0 = _mm256_fmadd_ps(_mm256_set1_ps(scale), p, a0);
    }
    return dk_hsum(_mm256_add_ps(a0, a1)) + offset;
}
#else
static inline __attribute__((always_inline)) float dk_row(int type, const uint8_t *w, size_t blocks, const dk_q8_block *x) {
    float acc = 0;
    for (size_t b = 0; b < blocks; b++) {
        const int8_t *q = x[b].q;
        int32_t sum = 0;
        if (type == DK_Q8_0) {
            const uint8_t *blk = w + 34 * b;
            for (int i = 0; i < 32; i++) sum += (int8_t)blk[2 + i] * q[i];
            acc += dk_half(dk_u16(blk)) * x[b].d * (float)sum;
        } else {
            const uint8_t *blk = w + (type == DK_Q4_0 ? 18 : 20) * b, *qs = blk + (type == DK_Q4_0 ? 2 : 4);
            const int bias = type == DK_Q4_0 ? 8 : 0;
            for (int i = 0; i < 16; i++) sum += ((qs[i] & 0x0F) - bias) * q[i] + ((qs[i] >> 4) - bias) * q[i + 16];
            acc += dk_half(dk_u16(blk)) * x[b].d * (float)sum;
            if (type == DK_Q4_1) acc += dk_half(dk_u16(blk + 2)) * x[b].s;
        }
    }
    return acc;
}
#endif

// Rows with the type a constant, so each type gets its own loop.
#define DK_ROWS(T)                                                                                     \
    for (size_t r = r0; r < r1; r++) {                                                                 \
        const float d = dk_row(T, w + r * row_bytes, blocks, x);                                       \
        y[r] = accumulate ? y[r] + d : d;                                                              \
    }

void dk_block_rows(int type, const uint8_t *w, size_t row_bytes, size_t blocks, const dk_q8_block *x,
                   size_t r0, size_t r1, float *y, int accumulate) {
    switch (type) {
    case DK_Q8_0: DK_ROWS(DK_Q8_0) break;
    case DK_Q4_0: DK_ROWS(DK_Q4_0) break;
    default: DK_ROWS(DK_Q4_1) break;
    }
}

int dk_vectorized(void) {
#ifdef DK_AVX2
    return 1;
#else
    return 0;
#endif
}
