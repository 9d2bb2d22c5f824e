import Dispatch

/// Number of worker threads the engine's own kernels use (BLAS has its own pool).
public enum Parallelism {
    nonisolated(unsafe) public static var threads: Int = max(1, ProcessInfoCores.count)
    /// How many parts a product whose rounding depends on where it is cut is split into: the
    /// machine's core count whatever `threads` is (OpenBLAS rounds an output element differently
    /// depending on the shape of the call it falls in), so results do not change with `--threads`.
    /// With fewer threads than parts, a worker runs several parts.
    public static let partitions = max(1, ProcessInfoCores.count)
}

enum ProcessInfoCores {
    static var count: Int {
        #if canImport(Glibc)
        return Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))
        #else
        return Int(sysconf(_SC_NPROCESSORS_ONLN))
        #endif
    }
}

/// Runs body(chunkStart, chunkEnd) over [0, n) split into contiguous chunks, one per worker,
/// on the engine's `WorkerPool` (Dispatch when the pool is busy). Small n runs inline.
@inline(__always)
public func parallelFor(_ n: Int, minPerThread: Int = 1, _ body: (Int, Int) -> Void) {
    let workers = min(Parallelism.threads, max(1, n / max(1, minPerThread)))
    if workers <= 1 || n <= 1 { body(0, n); return }
    let chunk = (n + workers - 1) / workers
    if workers == Parallelism.threads, WorkerPool.shared(threads: workers).tryRun({ w in
        let s = w * chunk, e = min(n, s + chunk)
        if s < e { body(s, e) }
    }) { return }
    withoutActuallyEscaping(body) { b in
        DispatchQueue.concurrentPerform(iterations: workers) { w in
            let s = w * chunk, e = min(n, s + chunk)
            if s < e { b(s, e) }
        }
    }
}

/// Cuts [0, n) into `Parallelism.partitions` contiguous parts (fewer when a part would hold
/// under `minPerPart`) and runs body(partStart, partEnd) for each, the parts spread over the
/// workers. Unlike `parallelFor`, where the cuts fall does not depend on the thread count: a kernel
/// whose rounding depends on its cuts (a BLAS product split into several calls) gives the same bits
/// with `--threads 1` as with `--threads 2`.
@inline(__always)
public func parallelPartitions(_ n: Int, minPerPart: Int = 1, _ body: (Int, Int) -> Void) {
    let parts = min(Parallelism.partitions, max(1, n / max(1, minPerPart)))
    if parts <= 1 || n <= 1 { body(0, n); return }
    let chunk = (n + parts - 1) / parts
    parallelFor(parts) { p0, p1 in
        for p in p0..<p1 {
            let s = p * chunk, e = min(n, s + chunk)
            if s < e { body(s, e) }
        }
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension Parallelism {
    /// Sets the engine's worker count (BLAS itself stays single-threaded; see `BLAS`).
    public static func setThreads(_ n: Int) {
        threads = max(1, n)
    }
}
