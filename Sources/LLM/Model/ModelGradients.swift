/// Gradients of a scalar loss with respect to every parameter of a model, shaped by its
/// parameter registry (`LanguageModel.parameters`): one flat buffer, each parameter's gradient
/// laid out exactly like the parameter (row-major [out × in] for linear weights), so
/// importance scores can pair `weight[i]` with `gradient[i]` and an optimizer can walk both.
///
/// It is also the accumulator for calibration statistics over several windows: `add` sums
/// gradients (first-order Taylor), `addSquared` sums element-wise squares (the diagonal Fisher
/// approximation of the Hessian used by LLM-Pruner's second-order Taylor score).
public struct ModelGradients: Sendable {
    /// The registry the buffer follows.
    public let tensors: [ParameterTensor]
    /// Whether this buffer holds only some parameters (the trainable ones of a fine-tuning
    /// run: adapters, or a subset of the model's tensors); the rest are frozen and their
    /// gradients are never computed.
    public let isPartial: Bool
    /// All gradients, back to back in registry order.
    public var values: [Float]
    private let offsets: [String: Int]

    /// Zero gradients shaped like `model`'s parameters.
    public init(like model: LanguageModel) {
        self.init(tensors: model.parameters)
    }

    /// Zero gradients for exactly these tensors: the model's whole registry, or (`partial`) the
    /// trainable subset of a fine-tuning run.
    public init(tensors: [ParameterTensor], partial: Bool = false) {
        self.tensors = tensors
        isPartial = partial
        var offsets: [String: Int] = [:], n = 0
        for t in tensors { offsets[t.name] = n; n += t.count }
        self.offsets = offsets
        values = [Float](repeating: 0, count: n)
    }

    public func contains(_ name: String) -> Bool { offsets[name] != nil }

    /// The tensor whose values hold flat index `index` (for naming where a value went wrong).
    public func name(containing index: Int) -> String? {
        tensors.first { t in offsets[t.name].map { index >= $0 && index < $0 + t.count } ?? false }?.name
    }

    /// The gradient of one parameter by Hugging Face name (empty if the model has none).
    public subscript(_ name: String) -> [Float] {
        get {
            guard let o = offsets[name], let t = tensors.first(where: { $0.name == name }) else { return [] }
            return Array(values[o..<(o + t.count)])
        }
        set {
            guard let o = offsets[name], let t = tensors.first(where: { $0.name == name }) else {
                preconditionFailure("no parameter '\(name)'")
            }
            precondition(newValue.count == t.count, "\(name): \(newValue.count) values for \(t.count)")
            values.replaceSubrange(o..<(o + t.count), with: newValue)
        }
    }

    /// Every gradient by name.
    public var named: [String: [Float]] {
        Dictionary(uniqueKeysWithValues: tensors.map { ($0.name, self[$0.name]) })
    }

    /// Calls body with a function giving the mutable start of each parameter's gradient
    /// (what a backward pass writes into), nil for a parameter this buffer does not hold (a
    /// frozen one: `checkGradientInputs` has made sure that every tensor held is the model's).
    public mutating func withPointers<R>(_ body: ((String) -> UnsafeMutablePointer<Float>?) throws -> R) rethrows -> R {
        let offsets = self.offsets
        return try values.withUnsafeMutableBufferPointer { b in
            let base = b.baseAddress
            return try body { name in offsets[name].map { base! + $0 } }
        }
    }

    /// self += scale · other
    public mutating func add(_ other: ModelGradients, scale: Float = 1) {
        precondition(other.tensors == tensors, "gradient shapes differ")
        for j in values.indices { values[j] += scale * other.values[j] }
    }

    /// self += scale · other ⊙ other (diagonal Fisher accumulation)
    public mutating func addSquared(_ other: ModelGradients, scale: Float = 1) {
        precondition(other.tensors == tensors, "gradient shapes differ")
        for j in values.indices { values[j] += scale * other.values[j] * other.values[j] }
    }

    /// self += scale · |other| (ℓ1 accumulation of gradient magnitudes)
    public mutating func addAbsolute(_ other: ModelGradients, scale: Float = 1) {
        precondition(other.tensors == tensors, "gradient shapes differ")
        for j in values.indices { values[j] += scale * abs(other.values[j]) }
    }

    /// Sets every gradient to zero in place, keeping the buffer (so one accumulator can be
    /// reused window after window, e.g. for per-window squared gradients).
    public mutating func setZero() {
        values.withUnsafeMutableBufferPointer { $0.update(repeating: 0) }
    }

    /// nil when these gradients have exactly the shape of `model`'s parameters (for a partial
    /// buffer: each tensor held is one of the model's or of its adapters, shaped alike);
    /// otherwise the first difference found, in words.
    public func mismatch(with model: LanguageModel) -> String? {
        if isPartial {
            let known = Dictionary((model.parameters + model.adapterParameters).map { ($0.name, $0.shape) },
                                   uniquingKeysWith: { a, _ in a })
            for t in tensors {
                guard let s = known[t.name] else { return "a gradient for '\(t.name)', which the model does not have" }
                if s != t.shape { return "'\(t.name)' is \(t.shape) here, \(s) in the model" }
            }
            return nil
        }
        let theirs = model.parameters
        let mine = Dictionary(uniqueKeysWithValues: tensors.map { ($0.name, $0.shape) })
        for t in theirs {
            guard let s = mine[t.name] else {
                if t.role == .head { return "the LM head is tied here, untied in the model" }
                return "no gradient for '\(t.name)' (the model has it)"
            }
            if s != t.shape { return "'\(t.name)' is \(s) here, \(t.shape) in the model" }
        }
        if theirs.count != tensors.count {
            let names = Set(theirs.map(\.name))
            let extra = tensors.first { !names.contains($0.name) }!
            if extra.role == .head { return "the LM head is untied here, tied to the embedding in the model" }
            return "a gradient for '\(extra.name)', which the model does not have"
        }
        return nil
    }
}
