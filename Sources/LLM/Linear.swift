import Compute

/// A linear layer y = x·Wᵀ + b with W stored row-major [out × in], the Hugging Face layout.
/// Pruning edits `weight` in place (masks) or replaces it with fewer rows/columns (structure).
public struct Linear: Sendable {
    public var weight: [Float]
    public var bias: [Float]?
    public private(set) var outFeatures: Int
    public private(set) var inFeatures: Int
    /// How W is held for inference (`LinearStorage`); `.dense` means `weight` holds it.
    public internal(set) var storage: LinearStorage = .dense
    /// A low-rank adapter trained beside the frozen W (recovery fine-tuning); nil otherwise.
    public var adapter: LoRAAdapter?

    public init(weight: [Float], outFeatures: Int, inFeatures: Int, bias: [Float]? = nil) {
        precondition(weight.count == outFeatures * inFeatures)
        self.weight = weight; self.bias = bias
        self.outFeatures = outFeatures; self.inFeatures = inFeatures
    }

    /// A layer with these sizes whose weights are not in memory (a streamed block between uses).
    init(shapeOnly outFeatures: Int, _ inFeatures: Int, bias: Bool) {
        weight = []; self.bias = bias ? [] : nil
        self.outFeatures = outFeatures; self.inFeatures = inFeatures
    }

    public var parameterCount: Int { outFeatures * inFeatures + (bias?.count ?? 0) }

    /// y[rows × out] = x[rows × in]·Wᵀ (+ y when accumulate) (+ b).
    public func apply(_ x: UnsafePointer<Float>, rows: Int, into y: UnsafeMutablePointer<Float>, accumulate: Bool = false) {
        switch storage {
        case .dense:
            weight.withUnsafeBufferPointer { w in
                BLAS.linear(x, rows: rows, inFeatures: inFeatures, weight: w.baseAddress!, outFeatures: outFeatures,
                            into: y, accumulate: accumulate)
            }
        case .csr(let m): m.multiply(x, rows: rows, into: y, accumulate: accumulate)
        case .nm(let m): m.multiply(x, rows: rows, into: y, accumulate: accumulate)
        case .packed24(let m): m.multiply(x, rows: rows, into: y, accumulate: accumulate)
        case .encoded(let m): m.multiply(x, rows: rows, into: y, accumulate: accumulate)
        case .bitmap(let m): m.multiply(x, rows: rows, into: y, accumulate: accumulate)
        }
        if let bias {
            let n = outFeatures
            bias.withUnsafeBufferPointer { b in
                for r in 0..<rows {
                    let yr = y + r * n
                    for j in 0..<n { yr[j] += b[j] }
                }
            }
        }
        adapter?.addForward(x, rows: rows, into: y)
    }
}
