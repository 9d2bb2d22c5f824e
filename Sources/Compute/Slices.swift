/// [0, count) cut into consecutive ranges of `size` elements, the last one shorter: range(i) for
/// i in 0..<number. Every parallel kernel that hands each worker a raw-pointer slice of a shared
/// buffer takes its slices from here, so that they never overlap rests on this one type: the
/// ranges are non-empty, disjoint and cover [0, count) exactly (SlicesTests checks it
/// exhaustively for small counts and sizes; the TSan run of the suite checks the kernels).
public struct Slices: Equatable, Sendable {
    public let count: Int
    public let size: Int

    /// Ranges of `size` (at least 1) elements.
    @inline(__always)
    public init(count: Int, size: Int) {
        self.count = max(0, count)
        self.size = max(1, size)
    }

    /// At most `parts` ranges of ⌈count / parts⌉ elements (fewer when they run out first:
    /// 5 in 4 parts is 2 + 2 + 1).
    @inline(__always)
    public init(count: Int, parts: Int) {
        let p = max(1, parts)
        self.init(count: count, size: (max(0, count) + p - 1) / p)
    }

    /// How many ranges: ⌈count / size⌉.
    @inline(__always)
    public var number: Int { (count + size - 1) / size }

    /// Range i; empty for i ≥ `number` (a worker with nothing to do).
    @inline(__always)
    public func range(_ i: Int) -> Range<Int> {
        let s = min(count, i * size)
        return s..<min(count, s + size)
    }
}
