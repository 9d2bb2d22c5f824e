/// Keys and values of past positions, per layer, for incremental decoding. Layers may have
/// different kv-head counts (structured pruning), so each has its own row width.
public final class KVCache {
    public let capacity: Int
    public internal(set) var length: Int = 0
    let keys: [UnsafeMutablePointer<Float>]
    let values: [UnsafeMutablePointer<Float>]
    let widths: [Int]

    public init(config: ModelConfigView, capacity: Int) {
        self.capacity = capacity
        widths = config.kvWidths
        keys = widths.map { w in UnsafeMutablePointer<Float>.allocate(capacity: max(1, capacity * w)) }
        values = widths.map { w in UnsafeMutablePointer<Float>.allocate(capacity: max(1, capacity * w)) }
    }

    deinit {
        keys.forEach { $0.deallocate() }
        values.forEach { $0.deallocate() }
    }

    public func reset() { length = 0 }

    /// Forgets every position from `newLength` on, so a shared prefix (a task's context)
    /// can be continued several ways: run the context once, then for each continuation
    /// truncate back to the context and run the continuation.
    public func truncate(to newLength: Int) {
        precondition(newLength >= 0 && newLength <= length, "cannot truncate a cache of \(length) to \(newLength)")
        length = newLength
    }

    /// Bytes held: what a context of `capacity` positions costs.
    public var bytes: Int { widths.reduce(0, +) * capacity * 2 * MemoryLayout<Float>.size }
}

/// The per-layer widths a KV cache needs, from a model's config.
public struct ModelConfigView {
    public let kvWidths: [Int]
    public init(kvWidths: [Int]) { self.kvWidths = kvWidths }
}
