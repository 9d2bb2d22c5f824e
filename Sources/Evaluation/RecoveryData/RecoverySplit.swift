import Compute

/// Which examples train and which are held out, chosen by seed.
///
/// The examples (windows in stream order, or Alpaca elements in file order) are shuffled by a
/// Fisher–Yates shuffle driven by `SeededRNG(seed)`: for i from count − 1 down to 1, swap
/// position i with position `next() % (i + 1)`. The same seed gives the same order on every
/// platform. The first `validationCount` examples of that order are held out for validation;
/// the training examples are the rest, in that order, cut to the first `maxExamples`. So the
/// held-out examples do not depend on `maxExamples`, and are never trained on.
public struct RecoverySplit: Equatable, Sendable {
    /// Indices into the examples, in shuffled order.
    public var validation: [Int]
    public var train: [Int]

    public init(count: Int, seed: UInt64, validationCount: Int, maxExamples: Int? = nil) {
        precondition(validationCount >= 0 && validationCount <= count)
        let order = Self.permutation(count: count, seed: seed)
        validation = Array(order[..<validationCount])
        let rest = order[validationCount...]
        train = Array(maxExamples.map { rest.prefix($0) } ?? rest)
    }

    /// 0..<count shuffled by seed (the rule above).
    public static func permutation(count: Int, seed: UInt64) -> [Int] {
        var rng = SeededRNG(seed: seed)
        var p = Array(0..<count)
        var i = count - 1
        while i > 0 {
            let j = Int(rng.next() % UInt64(i + 1))
            p.swapAt(i, j)
            i -= 1
        }
        return p
    }
}
