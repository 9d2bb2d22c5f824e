// OpenBLAS on Linux (Debian: apt-get install libopenblas-dev). Its libopenblas also
// carries LAPACK, whose Fortran entry points we declare by hand to avoid needing lapacke.
#include <cblas.h>

void spotrf_(const char *uplo, const int *n, float *a, const int *lda, int *info);
void spotri_(const char *uplo, const int *n, float *a, const int *lda, int *info);
void openblas_set_num_threads(int num_threads);
