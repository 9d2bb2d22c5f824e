import DecodeKernels

/// OpenBLAS (and the LAPACK inside it) is not built with sanitizers, so neither ASan nor TSan
/// sees the memory a product reads and writes: an operand slice past the end of its buffer, or
/// two workers' output slices that overlap, would go unreported. Under a sanitizer, `BLAS.sgemm`
/// and `Cholesky` first touch exactly those elements here, in instrumented Swift — a load of each
/// operand element, a load and store of each output element — on the calling worker's thread.
/// Outside a sanitizer build this is one cached flag test per call.
public enum SanitizerProbe {
    /// True in a `--sanitize=address` or `--sanitize=thread` build.
    public static let active = dk_sanitizer_active() != 0

    /// Loads rows × columns elements, rows `stride` apart (the last row stops at its last column).
    /// Unoptimized so that the loads stay; plain `while` loops, since an unspecialized
    /// `for … in 0..<n` calls into the standard library for every element.
    @_optimize(none)
    public static func read(_ p: UnsafePointer<Float>, rows: Int, columns: Int, stride: Int) {
        var sink: Float = 0
        var r = 0
        while r < rows {
            let row = p + r * stride
            var c = 0
            while c < columns { sink += row[c]; c += 1 }
            r += 1
        }
        _ = sink
    }

    /// Loads and stores back rows × columns elements, rows `stride` apart: a write as far as the
    /// sanitizers are concerned, the values unchanged.
    @_optimize(none)
    public static func write(_ p: UnsafeMutablePointer<Float>, rows: Int, columns: Int, stride: Int) {
        var r = 0
        while r < rows {
            let row = p + r * stride
            var c = 0
            while c < columns { row[c] = row[c]; c += 1 }
            r += 1
        }
    }
}
