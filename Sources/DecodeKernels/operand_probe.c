// Sanitizer probes for operands handed to uninstrumented code (OpenBLAS): see
// BLAS.probeOperands. Volatile accesses, so the compiler cannot drop them (a store of the value
// just loaded is otherwise removed) and AddressSanitizer / ThreadSanitizer see every one.
#include "DecodeKernels.h"

float dk_probe_read(const float *p, size_t rows, size_t columns, size_t ld) {
    float sum = 0;
    for (size_t r = 0; r < rows; r++)
        for (size_t j = 0; j < columns; j++) sum += ((const volatile float *)p)[r * ld + j];
    return sum;
}

void dk_probe_write(float *p, size_t rows, size_t columns, size_t ld) {
    for (size_t r = 0; r < rows; r++)
        for (size_t j = 0; j < columns; j++) {
            volatile float *q = (volatile float *)p + r * ld + j;
            *q = *q;
        }
}
