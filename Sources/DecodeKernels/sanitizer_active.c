// Whether this build is instrumented by AddressSanitizer or ThreadSanitizer (SwiftPM's
// --sanitize compiles C targets with the same -fsanitize flag). Swift has no compile-time test
// for it; Compute/SanitizerProbe.swift asks here once.
#include "DecodeKernels.h"

#if defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define DK_SANITIZED 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define DK_SANITIZED 1
#endif

int dk_sanitizer_active(void) {
#ifdef DK_SANITIZED
    return 1;
#else
    return 0;
#endif
}
