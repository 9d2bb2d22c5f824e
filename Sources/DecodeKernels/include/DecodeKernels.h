// Batch-1 decode kernels that need the CPU's integer SIMD instructions (AVX2's byte
// multiply-adds, in-lane permutes), which Swift's SIMD types do not reach. Each function has a
// portable scalar twin that computes the same sums; the AVX2 path is compiled when the
// target has AVX2, FMA and F16C (Package.swift: x86-64 builds unless SECATEUR_PORTABLE).
//
// Threading stays in Swift: every function works on a range of output rows [r0, r1).
#ifndef DECODE_KERNELS_H
#define DECODE_KERNELS_H

#include <stddef.h>
#include <stdint.h>

/// An activation block: 32 values of x as q[i] · d, d = max|x| / 127, q rounded to nearest
/// (ties to even); s = d · Σ q (what a Q4_1 weight's offset m multiplies). ggml's Q8_1 for
/// activations, with d and s kept in float32.
typedef struct {
    float d;
    float s;
    int8_t q[32];
} dk_q8_block;

/// Quantizes x[32 · blocks] into out[blocks].
void dk_quantize_q8(const float *x, size_t blocks, dk_q8_block *out);

/// Weight rows in ggml blocks (layouts in Compute/Encoded/EncodedRows.swift).
enum { DK_Q8_0 = 0, DK_Q4_0 = 1, DK_Q4_1 = 2 };

/// y[r] (+)= Σ_b d_w(b) · d_x(b) · Σ_i w_q · x_q (+ the Q4 offsets) for rows r0..<r1 of a
/// matrix in `type` blocks whose rows are row_bytes apart, x as `blocks` activation blocks.
void dk_block_rows(int type, const uint8_t *w, size_t row_bytes, size_t blocks, const dk_q8_block *x,
                   size_t r0, size_t r1, float *y, int accumulate);

/// Value encodings of a packed 2:4 / 1:4 row.
enum { DK_F32 = 0, DK_F16 = 1, DK_BF16 = 2, DK_VALUES_Q8_0 = 3 };

/// y[r] (+)= row r · x for rows r0..<r1 of a packed 2:4 / 1:4 matrix (Compute/Sparse/
/// Packed24Matrix.swift documents the layout): values row_bytes apart per row, codes[r ·
/// chunks + c] the offsets of chunk c (32 columns) of row r, x the dense input.
void dk_packed24_rows(int value_type, int keep, const uint8_t *values, size_t row_bytes, const uint32_t *codes,
                      size_t chunks, const float *x, size_t r0, size_t r1, float *y, int accumulate);

/// y[r] (+)= Σ_i values[i] · x[columns[i]] over row r's entries row_start[r]..<row_start[r + 1],
/// for rows r0..<r1 of a CSR matrix.
void dk_csr_rows(const float *values, const uint16_t *columns, const int32_t *row_start, const float *x,
                 size_t r0, size_t r1, float *y, int accumulate);

/// y[r] (+)= row r · x for rows r0..<r1 of a bitmap matrix (Compute/Sparse/BitmapMatrix.swift):
/// masks [rows × columns / 8] (bit j of byte b: column 8b + j kept), the kept values in
/// `value_type` (DK_F32, DK_F16, DK_BF16) with row r's first at value row_start[r], padded by
/// 8 values past the last row.
void dk_bitmap_rows(int value_type, const uint8_t *masks, size_t columns, const uint8_t *values,
                    const int32_t *row_start, const float *x, size_t r0, size_t r1, float *y, int accumulate);

/// 1 when the vector kernels were compiled in, 0 for the scalar twins.
int dk_vectorized(void);

/// Sanitizer probes (bench/bench_sanitizers.sh): read every element of a rows × columns
/// matrix whose rows are ld floats apart (returns their sum), or read and write each back.
float dk_probe_read(const float *p, size_t rows, size_t columns, size_t ld);
void dk_probe_write(float *p, size_t rows, size_t columns, size_t ld);

#endif
