// Batch-1 products of CSR rows (Compute/Sparse/CSRMatrix.swift: float32 values, UInt16 column
// indices, Int32 row starts). A scalar loop is bound by the load ports: three loads per non-zero
// (index, x, value). Here indices come four to a 64-bit load and values eight to a vector load,
// so the x reads are most of the loads. (AVX2's vgatherdps measured slower on Zen 3.)
#include "DecodeKernels.h"
#include "scalar.h"

void dk_csr_rows(const float *values, const uint16_t *columns, const int32_t *row_start, const float *x,
                 size_t r0, size_t r1, float *y, int accumulate) {
    for (size_t r = r0; r < r1; r++) {
        size_t i = (size_t)row_start[r];
        const size_t end = (size_t)row_start[r + 1];
        float s = 0;
#ifdef DK_AVX2
        // Eight non-zeros per step: their indices in two 64-bit loads (split with shifts on the
        // integer units), the x under them inserted into one vector, the values in one load.
        __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps();
        for (; i + 16 <= end; i += 16) {
            uint64_t c[4];
            memcpy(c, columns + i, 32);
#define DK_X4(k) _mm_setr_ps(x[c[k] & 0xFFFF], x[(c[k] >> 16) & 0xFFFF], x[(c[k] >> 32) & 0xFFFF], x[c[k] >> 48])
            const __m256 x0 = _mm256_set_m128(DK_X4(1), DK_X4(0)), x1 = _mm256_set_m128(DK_X4(3), DK_X4(2));
#undef DK_X4
            a0 = _mm256_fmadd_ps(_mm256_loadu_ps(values + i), x0, a0);
            a1 = _mm256_fmadd_ps(_mm256_loadu_ps(values + i + 8), x1, a1);
        }
        s = dk_hsum(_mm256_add_ps(a0, a1));
#endif
        for (; i < end; i++) s += values[i] * x[columns[i]];
        y[r] = accumulate ? y[r] + s : s;
    }
}
