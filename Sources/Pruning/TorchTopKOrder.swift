/// How equal scores are ordered when only some of a group can be pruned.
public enum TieBreak: String, Codable, CaseIterable, Sendable {
    /// The earlier position is pruned first (deterministic and documented; DESIGN.md §5).
    case position
    /// As `torch.topk(largest=False)` on CPU picks among equal scores in an N:M group, so masks
    /// reproduce the Wanda/SparseGPT reference code's bit for bit where scores tie (magnitude N:M on a
    /// quantized checkpoint ties in ~15–30 % of groups). Groups of at most 8.
    case torch
}

/// The n lowest of m ≤ 8 scores in the order `torch.topk(x, n, largest=False)` returns them on CPU.
/// For n·64 > m, ATen's `topk_impl_loop` runs `std::nth_element(q, q + n − 1, q + m, less)` over
/// (value, index) pairs comparing values only (NaN largest), and keeps q[0..<n]. The selection below
/// follows libstdc++'s introselect step for step — median-of-three to the front, unguarded partition
/// while more than 3 remain, then insertion sort — because which of several equal values ends up in
/// q[0..<n] depends on exactly those swaps. (Its heap-select fallback needs depth 2·⌊log₂ m⌋ exhausted,
/// which a range shrinking by at least one per step cannot reach for m ≤ 8.)
enum TorchTopKOrder {
    static let maxGroup = 8

    static func lowest(_ v: UnsafePointer<Float>, m: Int, n: Int, into out: UnsafeMutablePointer<Int>) {
        precondition(m <= maxGroup && n >= 1 && n <= m)
        withUnsafeTemporaryAllocation(of: (value: Float, index: Int).self, capacity: m) { q in
            for i in 0..<m { q[i] = (v[i], i) }
            func less(_ a: Int, _ b: Int) -> Bool {
                let x = q[a].value, y = q[b].value
                return (!x.isNaN && y.isNaN) || x < y
            }
            func swapAt(_ a: Int, _ b: Int) { let t = q[a]; q[a] = q[b]; q[b] = t }

            let nth = n - 1
            var first = 0, last = m
            while last - first > 3 {
                // __unguarded_partition_pivot: median of (first+1, mid, last−1) moved to first.
                let a = first + 1, b = first + (last - first) / 2, c = last - 1
                if less(a, b) {
                    if less(b, c) { swapAt(first, b) } else if less(a, c) { swapAt(first, c) } else { swapAt(first, a) }
                } else if less(a, c) { swapAt(first, a) } else if less(b, c) { swapAt(first, c) } else { swapAt(first, b) }
                // __unguarded_partition(first+1, last, pivot = first).
                var lo = first + 1, hi = last
                while true {
                    while less(lo, first) { lo += 1 }
                    hi -= 1
                    while less(first, hi) { hi -= 1 }
                    if !(lo < hi) { break }
                    swapAt(lo, hi)
                    lo += 1
                }
                if lo <= nth { first = lo } else { last = lo }
            }
            // __insertion_sort(first, last).
            if last - first > 1 {
                for i in (first + 1)..<last {
                    let val = q[i]
                    if (!val.value.isNaN && q[first].value.isNaN) || val.value < q[first].value {
                        var j = i
                        while j > first { q[j] = q[j - 1]; j -= 1 }
                        q[first] = val
                    } else {
                        var j = i
                        while (!val.value.isNaN && q[j - 1].value.isNaN) || val.value < q[j - 1].value { q[j] = q[j - 1]; j -= 1 }
                        q[j] = val
                    }
                }
            }
            for t in 0..<n { out[t] = q[t].index }
        }
    }
}
