// glibc's allocator settings (mallopt, M_MMAP_THRESHOLD, M_TRIM_THRESHOLD); see Compute/HeapReuse.
#include <malloc.h>
