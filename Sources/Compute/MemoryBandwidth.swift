import Foundation

/// This machine's memory bandwidth as the engine's workers see it, STREAM-style (McCalpin):
/// arrays far larger than the last-level cache, each worker on its own contiguous slice, the
/// best of several repetitions. Batch-1 decode reads every weight once per token, so
/// `readGBps` divided by the bytes read per token is the fastest decode this machine allows.
public struct MemoryBandwidth: Codable, Sendable {
    /// Sum of an array (reads only: what decode does to its weights), GB/s (10⁹ bytes).
    public var readGBps: Double
    /// STREAM triad a = b + s·c, counting 2 reads and 1 write per element, GB/s.
    public var triadGBps: Double
    /// Bytes of each array.
    public var arrayBytes: Int
    public var repetitions: Int
    public var threads: Int

    enum CodingKeys: String, CodingKey {
        case readGBps = "read_gb_per_s", triadGBps = "triad_gb_per_s", arrayBytes = "array_bytes", repetitions, threads
    }

    /// Measures with arrays of `arrayBytes` each (the triad allocates three).
    public static func measure(arrayBytes: Int = 256 << 20, repetitions: Int = 5) -> MemoryBandwidth {
        let n = max(1 << 16, arrayBytes / 4) / 64 * 64
        let a = UnsafeMutablePointer<Float>.allocate(capacity: n), b = UnsafeMutablePointer<Float>.allocate(capacity: n)
        let c = UnsafeMutablePointer<Float>.allocate(capacity: n)
        defer { a.deallocate(); b.deallocate(); c.deallocate() }
        // First touch by the workers that use each slice, so its pages are really there.
        parallelFor(n, minPerThread: n / Parallelism.threads) { s, e in
            (a + s).initialize(repeating: 0, count: e - s)
            (b + s).initialize(repeating: 1, count: e - s)
            (c + s).initialize(repeating: 2, count: e - s)
        }
        var bestRead = Double.infinity, bestTriad = Double.infinity
        var sink: Float = 0
        for rep in 0...repetitions {
            let t0 = DispatchTime.now().uptimeNanoseconds
            sink += sum(b, n)
            let t1 = DispatchTime.now().uptimeNanoseconds
            triad(a, b, c, 3, n)
            let t2 = DispatchTime.now().uptimeNanoseconds
            if rep > 0 {   // the first round warms up
                bestRead = min(bestRead, Double(t1 - t0) / 1e9)
                bestTriad = min(bestTriad, Double(t2 - t1) / 1e9)
            }
        }
        precondition(sink.isFinite)   // keeps the reads from being optimised away
        let bytes = Double(n * 4)
        return MemoryBandwidth(readGBps: bytes / bestRead / 1e9, triadGBps: 3 * bytes / bestTriad / 1e9,
                               arrayBytes: n * 4, repetitions: repetitions, threads: Parallelism.threads)
    }

    private static func sum(_ x: UnsafePointer<Float>, _ n: Int) -> Float {
        let parts = UnsafeMutablePointer<Float>.allocate(capacity: Parallelism.threads)
        defer { parts.deallocate() }
        parts.initialize(repeating: 0, count: Parallelism.threads)
        let chunk = (n + Parallelism.threads - 1) / Parallelism.threads
        parallelFor(Parallelism.threads) { w0, w1 in
            for w in w0..<w1 {
                let s = w * chunk, e = min(n, s + chunk)
                var a0 = SIMD8<Float>(), a1 = SIMD8<Float>(), a2 = SIMD8<Float>(), a3 = SIMD8<Float>()
                var i = s
                while i + 32 <= e {
                    a0 += EncodedRows.load8(x + i); a1 += EncodedRows.load8(x + i + 8)
                    a2 += EncodedRows.load8(x + i + 16); a3 += EncodedRows.load8(x + i + 24)
                    i += 32
                }
                var t = ((a0 + a1) + (a2 + a3)).sum()
                while i < e { t += x[i]; i += 1 }
                parts[w] = t
            }
        }
        var total: Float = 0
        for w in 0..<Parallelism.threads { total += parts[w] }
        return total
    }

    private static func triad(_ a: UnsafeMutablePointer<Float>, _ b: UnsafePointer<Float>, _ c: UnsafePointer<Float>,
                              _ s: Float, _ n: Int) {
        parallelFor(n, minPerThread: n / Parallelism.threads) { i0, i1 in
            let sv = SIMD8<Float>(repeating: s)
            var i = i0
            while i + 8 <= i1 {
                EncodedRows.store8(EncodedRows.load8(b + i) + sv * EncodedRows.load8(c + i), a + i)
                i += 8
            }
            while i < i1 { a[i] = b[i] + s * c[i]; i += 1 }
        }
    }
}
