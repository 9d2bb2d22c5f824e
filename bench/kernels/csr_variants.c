// Batch-1 CSR product kernels side by side (issue 15: can unstructured 70 % decode reach 1.5x dense?).
// Times Secateur's kernel (Sources/DecodeKernels/csr_dot.c, linked as built) against four
// alternatives on 60 matrices alternating 1536x576 and 576x1536 (SmolLM2-135M's MLP shapes) at a
// given density, two threads splitting each matrix's rows, best of 15 passes:
//   band u8  column offsets as one byte within 256-column bands (5 bytes per non-zero, not 6)
//   scalar8  one non-zero at a time, eight scalar accumulators
//   gather   indices widened by vpmovzxwd, x by AVX2 vgatherdps
//   pair     two rows interleaved, x built lane by lane
// The second argument limits the matrices used: 4 fit in L2/L3, so the in-cache rate shows
// whether a kernel is bound by memory or by its own instructions.
//   cc -O3 -mavx2 -mfma -mf16c -I Sources/DecodeKernels/include bench/kernels/csr_variants.c \
//      Sources/DecodeKernels/csr_dot.c -o /tmp/csr_variants -lpthread && /tmp/csr_variants 0.3 [matrices]
#include <immintrin.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "DecodeKernels.h"
static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + 1e-9 * t.tv_nsec; }
static inline float hsum(__m256 v) { __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1)); s = _mm_add_ps(s, _mm_movehl_ps(s, s)); s = _mm_add_ss(s, _mm_movehdup_ps(s)); return _mm_cvtss_f32(s); }
typedef struct { int rows, cols, bands; int32_t *rs, *bs; uint16_t *ci; uint8_t *co; float *v; } M;
static void band_rows(const M *m, const float *x, int r0, int r1, float *y) {
  for (int r = r0; r < r1; r++) {
    __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps(); float s = 0;
    const int32_t *bs = m->bs + (size_t)r * m->bands;
    for (int b = 0; b < m->bands; b++) {
      size_t i = bs[b], end = bs[b + 1]; const float *xb = x + 256 * b;
      for (; i + 16 <= end; i += 16) {
        uint64_t c[2]; memcpy(c, m->co + i, 16);
#define X4(k, h) _mm_setr_ps(xb[(c[k] >> (32 * h)) & 0xFF], xb[(c[k] >> (32 * h + 8)) & 0xFF], xb[(c[k] >> (32 * h + 16)) & 0xFF], xb[(c[k] >> (32 * h + 24)) & 0xFF])
        __m256 x0 = _mm256_set_m128(X4(0, 1), X4(0, 0)), x1 = _mm256_set_m128(X4(1, 1), X4(1, 0));
#undef X4
        a0 = _mm256_fmadd_ps(_mm256_loadu_ps(m->v + i), x0, a0); a1 = _mm256_fmadd_ps(_mm256_loadu_ps(m->v + i + 8), x1, a1);
      }
      for (; i < end; i++) s += m->v[i] * xb[m->co[i]];
    }
    y[r] = s + hsum(_mm256_add_ps(a0, a1));
  }
}

static void scalar_rows(const M *m, const float *x, int r0, int r1, float *y) {
  for (int r = r0; r < r1; r++) {
    size_t i = m->rs[r], end = m->rs[r + 1];
    const float *v = m->v; const uint16_t *ci = m->ci;
    float s0 = 0, s1 = 0, s2 = 0, s3 = 0, s4 = 0, s5 = 0, s6 = 0, s7 = 0;
    for (; i + 8 <= end; i += 8) {
      s0 += v[i] * x[ci[i]]; s1 += v[i+1] * x[ci[i+1]]; s2 += v[i+2] * x[ci[i+2]]; s3 += v[i+3] * x[ci[i+3]];
      s4 += v[i+4] * x[ci[i+4]]; s5 += v[i+5] * x[ci[i+5]]; s6 += v[i+6] * x[ci[i+6]]; s7 += v[i+7] * x[ci[i+7]];
    }
    for (; i < end; i++) s0 += v[i] * x[ci[i]];
    y[r] = ((s0 + s1) + (s2 + s3)) + ((s4 + s5) + (s6 + s7));
  }
}
static void gather_rows(const M *m, const float *x, int r0, int r1, float *y) {
  for (int r = r0; r < r1; r++) {
    size_t i = m->rs[r], end = m->rs[r + 1]; float s = 0;
    __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps();
    for (; i + 16 <= end; i += 16) {
      __m256i c0 = _mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)(m->ci + i)));
      __m256i c1 = _mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)(m->ci + i + 8)));
      a0 = _mm256_fmadd_ps(_mm256_loadu_ps(m->v + i), _mm256_i32gather_ps(x, c0, 4), a0);
      a1 = _mm256_fmadd_ps(_mm256_loadu_ps(m->v + i + 8), _mm256_i32gather_ps(x, c1, 4), a1);
    }
    s = hsum(_mm256_add_ps(a0, a1));
    for (; i < end; i++) s += m->v[i] * x[m->ci[i]];
    y[r] = s;
  }
}

static void pair_rows(const M *m, const float *x, int r0, int r1, float *y) {
  int r = r0;
  for (; r + 2 <= r1; r += 2) {
    size_t i = m->rs[r], e = m->rs[r + 1], j = m->rs[r + 1], f = m->rs[r + 2];
    __m256 a0 = _mm256_setzero_ps(), b0 = _mm256_setzero_ps();
    const float *v = m->v; const uint16_t *ci = m->ci;
    while (i + 8 <= e && j + 8 <= f) {
      __m256 xa = _mm256_setr_ps(x[ci[i]], x[ci[i+1]], x[ci[i+2]], x[ci[i+3]], x[ci[i+4]], x[ci[i+5]], x[ci[i+6]], x[ci[i+7]]);
      __m256 xb = _mm256_setr_ps(x[ci[j]], x[ci[j+1]], x[ci[j+2]], x[ci[j+3]], x[ci[j+4]], x[ci[j+5]], x[ci[j+6]], x[ci[j+7]]);
      a0 = _mm256_fmadd_ps(_mm256_loadu_ps(v + i), xa, a0); b0 = _mm256_fmadd_ps(_mm256_loadu_ps(v + j), xb, b0);
      i += 8; j += 8;
    }
    float s = hsum(a0), t = hsum(b0);
    for (; i < e; i++) s += v[i] * x[ci[i]];
    for (; j < f; j++) t += v[j] * x[ci[j]];
    y[r] = s; y[r + 1] = t;
  }
  if (r < r1) dk_csr_rows(m->v, m->ci, m->rs, x, r, r1, y, 0);
}
#define NM 60
static M mats[NM]; static float *xs[NM], *ys[NM]; static int mode; static int nmUse = NM;
static void *work(void *arg) { int t = (int)(long)arg;
  for (int k = 0; k < nmUse; k++) { M *m = &mats[k]; int h = m->rows / 2; int r0 = t ? h : 0, r1 = t ? m->rows : h;
    if (mode == 1) band_rows(m, xs[k], r0, r1, ys[k]); else if (mode == 0) dk_csr_rows(m->v, m->ci, m->rs, xs[k], r0, r1, ys[k], 0); else if (mode == 2) scalar_rows(m, xs[k], r0, r1, ys[k]); else if (mode == 3) gather_rows(m, xs[k], r0, r1, ys[k]); else pair_rows(m, xs[k], r0, r1, ys[k]); }
  return 0; }
int main(int argc, char **argv) {
  double density = argc > 1 ? atof(argv[1]) : 0.3; if (argc > 2) nmUse = atoi(argv[2]); srand(1);
  size_t bytes[2] = {0, 0};
  for (int k = 0; k < NM; k++) {
    int rows = k % 2 ? 576 : 1536, cols = k % 2 ? 1536 : 576; M *m = &mats[k];
    m->rows = rows; m->cols = cols; m->bands = (cols + 255) / 256;
    size_t cap = (size_t)rows * cols; m->v = malloc(4 * cap + 64); m->ci = malloc(2 * cap + 64); m->co = malloc(cap + 64);
    m->rs = malloc(4 * (rows + 1)); m->bs = malloc(4 * ((size_t)rows * m->bands + 1));
    size_t n = 0; m->rs[0] = 0;
    for (int r = 0; r < rows; r++) { for (int b = 0; b < m->bands; b++) { m->bs[r * m->bands + b] = n;
        for (int c = 256 * b; c < cols && c < 256 * (b + 1); c++) if (rand() < density * RAND_MAX) { m->v[n] = (float)rand() / RAND_MAX - 0.5f; m->ci[n] = c; m->co[n] = c - 256 * b; n++; } }
      m->rs[r + 1] = n; }
    m->bs[rows * m->bands] = n;
    bytes[0] += n * 6 + 4 * (rows + 1); bytes[1] += n * 5 + 4 * (rows * m->bands + 1);
    xs[k] = malloc(4 * cols); for (int c = 0; c < cols; c++) xs[k][c] = (float)rand() / RAND_MAX; ys[k] = malloc(4 * rows);
  }
  for (int rep = 0; rep < 3; rep++) for (mode = 0; mode < 5; mode++) {
    double best = 1e9;
    for (int it = 0; it < 15; it++) { double t0 = now(); pthread_t th; pthread_create(&th, 0, work, (void *)1L); work(0); pthread_join(th, 0); double dt = now() - t0; if (dt < best) best = dt; }
    float chk = 0; for (int k = 0; k < NM; k++) for (int r = 0; r < mats[k].rows; r++) chk += ys[k][r];
    printf("%s  %.1f MB  %.2f ms  %.1f GB/s  (check %.4f)\n", (const char*[]){"ours (csr u16)","band u8","scalar8","gather","pair"}[mode], bytes[mode == 1] / 1e6, best * 1e3, bytes[mode == 1] / best / 1e9, chk);
  }
}
