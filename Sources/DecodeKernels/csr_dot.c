// Batch-1 products of CSR rows (Compute/Sparse/CSRMatrix.swift: float32 values, UInt16 column
// indices, Int32 row starts). A scalar loop does one non-zero per cycle (three loads each); AVX2's
// vgatherdps fetches the x under 8 non-zeros at once, which on Zen 3 doubles that and makes the
// kernel memory-bound at 30 % density.
#include "DecodeKernels.h"
#include "scalar.h"

void dk_csr_rows(const float *values, const uint16_t *columns, const int32_t *row_start, const float *x,
                 size_t r0, size_t r1, float *y, int accumulate) {
    for (size_t r = r0; r < r1; r++) {
        size_t i = (size_t)row_start[r];
        const size_t end = (size_t)row_start[r + 1];
        float s = 0;
        float s0 = 0, s1 = 0, s2 = 0, s3 = 0, s4 = 0, s5 = 0, s6 = 0, s7 = 0;
        for (; i + 8 <= end; i += 8) {
            s0 += values[i] * x[columns[i]];
            s1 += values[i + 1] * x[columns[i + 1]];
            s2 += values[i + 2] * x[columns[i + 2]];
            s3 += values[i + 3] * x[columns[i + 3]];
            s4 += values[i + 4] * x[columns[i + 4]];
            s5 += values[i + 5] * x[columns[i + 5]];
            s6 += values[i + 6] * x[columns[i + 6]];
            s7 += values[i + 7] * x[columns[i + 7]];
        }
        s = ((s0 + s1) + (s2 + s3)) + ((s4 + s5) + (s6 + s7));
        for (; i < end; i++) s += values[i] * x[columns[i]];
        y[r] = accumulate ? y[r] + s : s;
    }
}
