import Compute

/// The hooks of a block forward: what it shows, where it starts and where it stops.
public struct BlockHooks {
    /// Sees each linear input as it is computed.
    var observer: LinearInputObserver?
    /// Return right after the observer has seen this site (`hidden` is then partly updated).
    var stopAfter: LinearInputSite?
    /// Start at this site instead of the block input; its input is read from `site`.
    var resumeFrom: LinearInputSite?
    /// rows × (site width): where a stop leaves its site's input, and a resume finds it.
    var site: UnsafeMutablePointer<Float>?

    init(observer: LinearInputObserver? = nil, stopAfter: LinearInputSite? = nil,
         resumeFrom: LinearInputSite? = nil, site: UnsafeMutablePointer<Float>? = nil) {
        self.observer = observer; self.stopAfter = stopAfter; self.resumeFrom = resumeFrom; self.site = site
    }

    /// A block forward has computed `site`'s input x [rows × width]: shows it, and says whether the
    /// forward must stop there (then x is kept in `site` for a later resume).
    func reached(_ site: LinearInputSite, _ x: UnsafeMutablePointer<Float>, rows: Int, width: Int) -> Bool {
        observer?(site, x, rows, width)
        guard stopAfter == site else { return false }
        self.site?.update(from: x, count: rows * width)
        return true
    }
}

/// Scratch buffers for a forward over `rows` positions, sized for the widest block and
/// reused across blocks so a forward pass allocates once.
public final class ForwardScratch {
    let rows: Int
    let normed: UnsafeMutablePointer<Float>     // rows × hidden
    let query: UnsafeMutablePointer<Float>      // rows × maxQWidth
    let attention: UnsafeMutablePointer<Float>  // rows × maxQWidth
    let gate: UnsafeMutablePointer<Float>       // rows × maxIntermediate
    let up: UnsafeMutablePointer<Float>         // rows × maxIntermediate
    let keys: UnsafeMutablePointer<Float>       // rows × maxKVWidth (used without a cache)
    let values: UnsafeMutablePointer<Float>

    private let sizes: [Int]                    // rows, hidden, maxQWidth, maxKVWidth, maxIntermediate

    init(rows: Int, hidden: Int, shapes: [BlockShape]) {
        self.rows = rows
        let q = shapes.map(\.queryWidth).max() ?? 0, kv = shapes.map(\.kvWidth).max() ?? 0
        let inter = shapes.map(\.intermediateSize).max() ?? 0
        sizes = [rows, hidden, q, kv, inter]
        normed = .allocate(capacity: max(1, rows * hidden))
        query = .allocate(capacity: max(1, rows * q))
        attention = .allocate(capacity: max(1, rows * q))
        gate = .allocate(capacity: max(1, rows * inter))
        up = .allocate(capacity: max(1, rows * inter))
        keys = .allocate(capacity: max(1, rows * kv))
        values = .allocate(capacity: max(1, rows * kv))
    }

    deinit {
        [normed, query, attention, gate, up, keys, values].forEach { $0.deallocate() }
    }

    /// Whether these buffers hold a forward of `rows` positions through blocks of `shapes`.
    func fits(rows: Int, hidden: Int, shapes: [BlockShape]) -> Bool {
        let q = shapes.map(\.queryWidth).max() ?? 0, kv = shapes.map(\.kvWidth).max() ?? 0
        let inter = shapes.map(\.intermediateSize).max() ?? 0
        return rows == sizes[0] && hidden == sizes[1] && q <= sizes[2] && kv <= sizes[3] && inter <= sizes[4]
    }
}

/// A model that is a stack of blocks, each run by its family's one block forward. The layer
/// walks every family shares — over a range with an optional KV cache, one block site by site,
/// several sequences packed together — are written here once.
public protocol BlockStack: LanguageModel {
    /// Runs block i in place on hidden [rows × hiddenSize] (see `LlamaBlock.forward`); returns
    /// whether it stopped at `hooks.stopAfter`.
    func runBlock(_ i: Int, hidden: UnsafeMutablePointer<Float>, rows: Int, startPosition: Int,
                  kv: (keys: UnsafeMutablePointer<Float>, values: UnsafeMutablePointer<Float>)?,
                  scratch: ForwardScratch, hooks: BlockHooks, segments: [AttentionSegment]?) -> Bool
}

extension BlockStack {
    func makeScratch(rows: Int) -> ForwardScratch { ForwardScratch(rows: rows, hidden: hiddenSize, shapes: blockShapes) }

    public func makeCache(capacity: Int) -> KVCache {
        KVCache(config: ModelConfigView(kvWidths: blockShapes.map(\.kvWidth)), capacity: capacity)
    }

    /// Runs blocks `range` in place over hidden [rows × hidden] (rows = hidden.count / hiddenSize).
    /// With a cache the rows continue the cached sequence and their keys/values are appended.
    /// `stopAfter` (statistics passes, one block, no cache): each block returns once the observer has
    /// seen that site, so `hidden` is not the block's output.
    public func runLayers(_ range: Range<Int>, hidden: inout [Float], cache: KVCache?,
                          observer: LinearInputObserver?, stopAfter: LinearInputSite?) throws {
        let rows = hidden.count / hiddenSize
        let start = cache?.length ?? 0
        if let cache, start + rows > cache.capacity {
            throw LLMError.contextTooLong(requested: start + rows, capacity: cache.capacity)
        }
        let scratch = makeScratch(rows: rows)
        let hooks = BlockHooks(observer: observer, stopAfter: stopAfter)
        hidden.withUnsafeMutableBufferPointer { hb in
            for i in range {
                let kv = cache.map { (keys: $0.keys[i], values: $0.values[i]) }
                _ = runBlock(i, hidden: hb.baseAddress!, rows: rows, startPosition: start, kv: kv, scratch: scratch,
                             hooks: hooks, segments: nil)
            }
        }
        if let cache, range.upperBound == layerCount { cache.length = start + rows }
    }

    public func runLayer(_ i: Int, cursor: inout BlockCursor, to stop: LinearInputSite?, observer: LinearInputObserver?) {
        guard !cursor.finished else { return }
        let rows = cursor.hidden.count / hiddenSize
        let shapes = blockShapes
        let scratch: ForwardScratch
        if let kept = cursor.scratch, kept.fits(rows: rows, hidden: hiddenSize, shapes: shapes) {
            scratch = kept
        } else {
            scratch = ForwardScratch(rows: rows, hidden: hiddenSize, shapes: shapes)
            cursor.scratch = scratch
        }
        let s = shapes[i]
        let width = max(hiddenSize, s.queryWidth, s.intermediateSize)
        if cursor.site.count < rows * width { cursor.site = [Float](repeating: 0, count: rows * width) }
        let resume = cursor.stoppedAt
        let stopped = cursor.hidden.withUnsafeMutableBufferPointer { hb in
            cursor.site.withUnsafeMutableBufferPointer { sb in
                runBlock(i, hidden: hb.baseAddress!, rows: rows, startPosition: 0, kv: nil, scratch: scratch,
                         hooks: BlockHooks(observer: observer, stopAfter: stop, resumeFrom: resume, site: sb.baseAddress!),
                         segments: nil)
            }
        }
        cursor.advance(stoppedAt: stopped ? stop : nil)
    }

    /// Runs every block in place over hidden [rows × hidden] holding several sequences packed
    /// together (`segments` must cover the rows; a prefix must be a whole earlier segment that has no
    /// prefix itself): one GEMM per projection for all of them, attention within each sequence.
    public func runLayers(packed hidden: inout [Float], segments: [AttentionSegment]) {
        let rows = hidden.count / hiddenSize
        precondition(segments.reduce(0) { $0 + $1.count } == rows, "segments must cover the \(rows) rows")
        let scratch = makeScratch(rows: rows)
        hidden.withUnsafeMutableBufferPointer { hb in
            for i in 0..<layerCount {
                _ = runBlock(i, hidden: hb.baseAddress!, rows: rows, startPosition: 0, kv: nil, scratch: scratch,
                             hooks: BlockHooks(), segments: segments)
            }
        }
    }
}
