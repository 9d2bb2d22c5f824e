import Atomics
import Dispatch
import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The engine's fork-join workers: `Parallelism.threads − 1` helper threads that wait for the
/// next loop by spinning for a moment before they sleep. Batch-1 decode runs a few hundred
/// short parallel loops per token (each matrix-vector product is tens of microseconds), and
/// waking a sleeping Dispatch worker for each cost a sizeable share of the token; a helper
/// that is still spinning starts within a microsecond or so.
///
/// One loop at a time: a loop started while another runs (from inside a task, or from a
/// second thread) falls back to `DispatchQueue.concurrentPerform`, so nesting never deadlocks.
final class WorkerPool: @unchecked Sendable {
    let helpers: Int
    private let epoch = ManagedAtomic<Int>(0)       // bumped once per loop
    private let remaining = ManagedAtomic<Int>(0)   // helpers still inside the current loop
    private let busy = ManagedAtomic<Bool>(false)
    private let sleepers = ManagedAtomic<Int>(0)
    private let wake = DispatchSemaphore(value: 0)
    private var task: ((Int) -> Void)?              // task w of the current loop (w = 1...helpers)
    /// How long an idle helper spins before it sleeps.
    static let spinNanoseconds: UInt64 = 200_000

    init(helpers: Int) {
        self.helpers = helpers
        for w in 1...max(1, helpers) where helpers > 0 {
            let t = Thread { [unowned self] in self.helperLoop(w) }
            t.stackSize = 1 << 20
            t.start()
        }
    }

    /// Runs task(0) on the calling thread and task(w) on helper w, for w in 1...helpers, and
    /// returns when all are done. False when the pool is busy (nothing was run).
    func tryRun(_ body: (Int) -> Void) -> Bool {
        guard busy.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged else { return false }
        withoutActuallyEscaping(body) { b in
            task = b
            remaining.store(helpers, ordering: .relaxed)
            // Sequentially consistent on both sides of the sleep handshake (Dekker): a helper
            // raises `sleepers` then reads `epoch`; we raise `epoch` then read `sleepers`. With
            // weaker orderings both reads may see the old values, and the helper sleeps through
            // the loop it should run while we wait for it forever.
            epoch.wrappingIncrement(ordering: .sequentiallyConsistent)
            for _ in 0..<sleepers.load(ordering: .sequentiallyConsistent) { wake.signal() }
            b(0)
            while remaining.load(ordering: .acquiring) > 0 {}
            task = nil
        }
        busy.store(false, ordering: .releasing)
        return true
    }

    private func helperLoop(_ w: Int) {
        var seen = 0
        while true {
            var start: UInt64 = 0, spins = 0
            while epoch.load(ordering: .acquiring) == seen {
                spins += 1
                if spins & 255 == 0 {
                    let now = DispatchTime.now().uptimeNanoseconds
                    if start == 0 { start = now } else if now - start > Self.spinNanoseconds {
                        sleepers.wrappingIncrement(ordering: .sequentiallyConsistent)
                        if epoch.load(ordering: .sequentiallyConsistent) == seen { wake.wait() }
                        sleepers.wrappingDecrement(ordering: .sequentiallyConsistent)
                        start = 0
                    }
                    sched_yield()
                }
            }
            seen = epoch.load(ordering: .acquiring)
            task!(w)
            remaining.wrappingDecrement(ordering: .releasing)
        }
    }

    // MARK: The shared pool

    private static let lock = DispatchSemaphore(value: 1)
    nonisolated(unsafe) private static var pools: [Int: WorkerPool] = [:]

    /// The pool with `threads − 1` helpers (made on first use; kept for the process).
    static func shared(threads: Int) -> WorkerPool {
        lock.wait(); defer { lock.signal() }
        if let p = pools[threads] { return p }
        let p = WorkerPool(helpers: threads - 1)
        pools[threads] = p
        return p
    }
}
