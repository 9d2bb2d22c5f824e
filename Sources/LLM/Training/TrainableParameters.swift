/// The tensors a fine-tuning run updates, seen as one flat vector (what the optimizer and
/// gradient clipping walk), and the entries that must stay exactly zero: every weight a
/// pruning method zeroed in a targeted projection (sparsegpt#17: re-masking after each step is
/// what keeps a pruned model pruned; here the gradient and the update are masked instead, so
/// the entry never moves in the first place).
public struct TrainableParameters {
    public let tensors: [ParameterTensor]
    /// Start of each tensor in the flat vector.
    public let offsets: [Int]
    public let count: Int
    /// true where the entry is a pruned (zero) weight that must stay zero; nil when none is.
    public let frozenZeros: [Bool]?

    init(_ tensors: [ParameterTensor], model: LanguageModel, maskZeros: Bool) {
        self.tensors = tensors
        var offsets: [Int] = [], n = 0
        for t in tensors { offsets.append(n); n += t.count }
        self.offsets = offsets; count = n
        guard maskZeros else { frozenZeros = nil; return }
        var mask = [Bool](repeating: false, count: n)
        var any = false
        for (t, o) in zip(tensors, offsets) {
            guard case .projection = t.role else { continue }
            model.withTrainableParameter(t.name) { v in
                for (j, x) in v.enumerated() where x == 0 { mask[o + j] = true; any = true }
            }
        }
        frozenZeros = any ? mask : nil
    }

    /// The adapters on `model` (LoRA): nothing else gets a gradient.
    public static func adapters(of model: LanguageModel) -> TrainableParameters {
        TrainableParameters(model.adapterParameters, model: model, maskZeros: false)
    }

    /// Every parameter of `model` (nil targets), or the weights and biases of the target
    /// projections; zeros of projection weights are frozen.
    public static func full(of model: LanguageModel, targets: [Projection]?) -> TrainableParameters {
        let chosen = model.parameters.filter { t in
            guard let targets else { return true }
            switch t.role {
            case .projection(let p, _, _), .bias(let p, _): return targets.contains(p)
            default: return false
            }
        }
        return TrainableParameters(chosen, model: model, maskZeros: true)
    }

    /// Whether these are all of the model's parameters (a full gradient buffer).
    func coversAll(of model: LanguageModel) -> Bool { tensors == model.parameters }

    /// A zero gradient buffer for exactly these tensors.
    public func makeGradients(for model: LanguageModel) -> ModelGradients {
        ModelGradients(tensors: tensors, partial: !coversAll(of: model))
    }

    /// The current values, back to back.
    public func gather(from model: LanguageModel) -> [Float] {
        var out = [Float](); out.reserveCapacity(count)
        for t in tensors { model.withTrainableParameter(t.name) { out.append(contentsOf: $0) } }
        return out
    }

    /// Writes `values` (laid out as `gather` returns them) back into the model.
    public func scatter(_ values: [Float], into model: LanguageModel) {
        precondition(values.count == count, "trainable vector of \(values.count) for \(count)")
        for (t, o) in zip(tensors, offsets) {
            model.withTrainableParameter(t.name) { $0.replaceSubrange(0..<t.count, with: values[o..<(o + t.count)]) }
        }
    }
}
