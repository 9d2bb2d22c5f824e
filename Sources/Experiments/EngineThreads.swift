import Compute

/// Runs `body` with the engine's kernels on `threads` workers and restores the previous count
/// afterwards, so a pipeline takes its thread count as configuration and a library caller
/// (a study running cells in one process) does not inherit the last run's setting.
/// `Parallelism.threads` itself is still a process-wide variable in Compute: two runs on
/// different threads at once in one process would see each other's count.
/// It also turns on `HeapReuse`, which every engine run wants (freed step buffers reused).
public func withEngineThreads<T>(_ threads: Int, _ body: () throws -> T) rethrows -> T {
    HeapReuse.enable()
    let previous = Parallelism.threads
    Parallelism.setThreads(threads)
    defer { Parallelism.setThreads(previous) }
    return try body()
}

/// The worker count a run uses when its settings leave it open: every core.
public var defaultEngineThreads: Int { Parallelism.threads }
