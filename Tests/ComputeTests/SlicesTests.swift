import XCTest
import Dispatch
@testable import Compute

/// Issue 18: the parallel kernels write raw-pointer slices of shared buffers from several
/// threads, so those slices must never overlap. They all come from `Slices` (through
/// `parallelFor` / `parallelPartitions` or directly); these tests prove the tiling exhaustively
/// for small shapes, then check that each loop hands out exactly its range, once per index.
final class SlicesTests: XCTestCase {
    /// Ranges 0..<number are non-empty, each starts where the previous ended, and they end at count.
    func assertTiles(_ s: Slices, file: StaticString = #filePath, line: UInt = #line) {
        var next = 0
        for i in 0..<s.number {
            let r = s.range(i)
            XCTAssertEqual(r.lowerBound, next, "\(s) range \(i)", file: file, line: line)
            XCTAssertFalse(r.isEmpty, "\(s) range \(i)", file: file, line: line)
            XCTAssertLessThanOrEqual(r.count, s.size, file: file, line: line)
            next = r.upperBound
        }
        XCTAssertEqual(next, s.count, "\(s) does not cover [0, count)", file: file, line: line)
        for i in s.number..<(s.number + 3) { XCTAssertTrue(s.range(i).isEmpty, "\(s) range \(i)", file: file, line: line) }
    }

    func testSlicesBySizeTileTheRange() {
        for count in 0...200 { for size in 1...40 { assertTiles(Slices(count: count, size: size)) } }
    }

    func testSlicesByPartsTileTheRangeInAtMostThatManyParts() {
        for count in 0...300 {
            for parts in 1...33 {
                let s = Slices(count: count, parts: parts)
                assertTiles(s)
                XCTAssertLessThanOrEqual(s.number, parts, "\(count) in \(parts)")
            }
        }
        XCTAssertEqual((0..<4).map { Slices(count: 5, parts: 4).range($0) }, [0..<2, 2..<4, 4..<5, 5..<5])
    }

    func testDegenerateArgumentsGiveNoRanges() {
        XCTAssertEqual(Slices(count: 0, parts: 4).number, 0)
        XCTAssertEqual(Slices(count: -3, size: 2).number, 0)
        assertTiles(Slices(count: 7, size: 0))     // size clamps to 1
        assertTiles(Slices(count: 7, parts: 0))    // parts clamp to 1
    }

    /// Every index of [0, n) is handed to exactly one call of the body, whatever the thread count
    /// (including more threads than cores) and per-thread minimum, through the worker pool, its
    /// Dispatch fallback (a loop started inside another) and `parallelPartitions`.
    func testParallelLoopsVisitEachIndexExactlyOnce() {
        let previous = Parallelism.threads
        defer { Parallelism.setThreads(previous) }
        for threads in [1, 2, 3, 4] {
            Parallelism.setThreads(threads)
            for n in [0, 1, 2, 3, 5, 8, 17, 100, 1001] {
                for minimum in [1, 3, 16] {
                    XCTAssertEqual(visits(n) { parallelFor(n, minPerThread: minimum, $0) }, [Int](repeating: 1, count: n),
                                   "parallelFor n \(n) min \(minimum) threads \(threads)")
                    XCTAssertEqual(visits(n) { parallelPartitions(n, minPerPart: minimum, $0) }, [Int](repeating: 1, count: n),
                                   "parallelPartitions n \(n) min \(minimum) threads \(threads)")
                }
                // Nested: the outer loop holds the pool, so the inner ones take the Dispatch path.
                var inner = [[Int]](repeating: [], count: 2)
                inner.withUnsafeMutableBufferPointer { out in
                    parallelFor(2) { a, b in for k in a..<b { out[k] = self.visits(n) { parallelFor(n, $0) } } }
                }
                XCTAssertEqual(inner, [[Int]](repeating: [Int](repeating: 1, count: n), count: 2), "nested n \(n) threads \(threads)")
            }
        }
    }

    /// How often the loop's body was given each index; each call records its own range, under a
    /// lock, so an overlap shows up as a count of 2 here rather than as a lost update.
    func visits(_ n: Int, _ loop: ((Int, Int) -> Void) -> Void) -> [Int] {
        var counts = [Int](repeating: 0, count: n)
        let lock = NSLock()
        loop { s, e in
            lock.lock(); defer { lock.unlock() }
            if n > 0 { XCTAssertLessThan(s, e) }     // n = 0 runs the body once, inline, on 0..<0
            for i in s..<e { counts[i] += 1 }
        }
        return counts
    }

    /// The kernels' pattern: each worker writes its slice of one shared raw buffer with no lock.
    /// Under ThreadSanitizer an overlap between two workers' slices is reported as a race here.
    func testWorkersWriteDisjointSlicesOfASharedBuffer() {
        let previous = Parallelism.threads
        defer { Parallelism.setThreads(previous) }
        for threads in [2, 3] {
            Parallelism.setThreads(threads)
            let n = 10_007
            let buffer = UnsafeMutablePointer<Int32>.allocate(capacity: n)
            defer { buffer.deallocate() }
            buffer.initialize(repeating: -1, count: n)
            for round in 0..<4 {
                parallelFor(n, minPerThread: 7) { s, e in for i in s..<e { buffer[i] = Int32(round) } }
                parallelPartitions(n, minPerPart: 5) { s, e in for i in s..<e { buffer[i] += 1 } }
            }
            XCTAssertTrue(UnsafeBufferPointer(start: buffer, count: n).allSatisfy { $0 == 4 })
        }
    }
}
