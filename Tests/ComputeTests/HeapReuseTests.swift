import XCTest
@testable import Compute

/// `HeapReuse` must actually take effect on Linux: glibc refuses an mmap threshold above its
/// ceiling (32 MiB on 64-bit) by returning 0, and the engine would then silently run with the
/// default allocator behaviour (freed step buffers unmapped and page-faulted back every step).
final class HeapReuseTests: XCTestCase {
    func testGlibcAcceptsBothSettingsAndBuffersStillWork() {
        #if os(Linux)
        XCTAssertTrue(HeapReuse.enable(), "glibc refused M_MMAP_THRESHOLD = 32 MiB or M_TRIM_THRESHOLD")
        #endif
        XCTAssertEqual(HeapReuse.enable(), HeapReuse.enable(), "a second call changes nothing")
        // Allocations on both sides of the threshold still hold what is written to them.
        for count in [1 << 10, 3 << 20, 9 << 20] {
            var a = [Float](repeating: 1, count: count)
            a[count - 1] = 2
            XCTAssertEqual(a.reduce(0, +), Float(count + 1))
        }
    }
}
