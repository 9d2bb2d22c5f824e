/// Gradients of a scalar loss with respect to every parameter of a `LlamaModel`, laid out exactly
/// like the parameters themselves (row-major [out × in] for linear weights), so importance scores
/// can pair `weight[i]` with `gradient[i]`.
///
/// It is also the accumulator for calibration statistics over several windows: `add` sums
/// gradients (first-order Taylor), `addSquared` sums element-wise squares (the diagonal Fisher
/// approximation of the Hessian used by LLM-Pruner's second-order Taylor score).
public struct LinearGradient: Sendable {
    public var weight: [Float]
    public var bias: [Float]?

    public init(like linear: Linear) {
        weight = [Float](repeating: 0, count: linear.weight.count)
        bias = linear.bias.map { [Float](repeating: 0, count: $0.count) }
    }
}

public struct LayerGradients: Sendable {
    public var inputNorm: [Float]
    public var q: LinearGradient, k: LinearGradient, v: LinearGradient, o: LinearGradient
    public var postAttentionNorm: [Float]
    public var gate: LinearGradient, up: LinearGradient, down: LinearGradient

    public init(like layer: DecoderLayer) {
        inputNorm = [Float](repeating: 0, count: layer.inputNorm.count)
        q = LinearGradient(like: layer.q); k = LinearGradient(like: layer.k)
        v = LinearGradient(like: layer.v); o = LinearGradient(like: layer.o)
        postAttentionNorm = [Float](repeating: 0, count: layer.postAttentionNorm.count)
        gate = LinearGradient(like: layer.gate); up = LinearGradient(like: layer.up)
        down = LinearGradient(like: layer.down)
    }

    public subscript(_ p: Projection) -> LinearGradient {
        get {
            switch p {
            case .q: return q
            case .k: return k
            case .v: return v
            case .o: return o
            case .gate: return gate
            case .up: return up
            case .down: return down
            }
        }
        set {
            switch p {
            case .q: q = newValue
            case .k: k = newValue
            case .v: v = newValue
            case .o: o = newValue
            case .gate: gate = newValue
            case .up: up = newValue
            case .down: down = newValue
            }
        }
    }
}

public struct ModelGradients: Sendable {
    public var embedding: [Float]
    public var layers: [LayerGradients]
    public var finalNorm: [Float]
    /// nil when the head is tied to the embedding (its gradient is then added into `embedding`).
    public var lmHead: [Float]?

    /// Zero gradients shaped like `model`'s parameters.
    public init(like model: LlamaModel) {
        embedding = [Float](repeating: 0, count: model.embedding.count)
        layers = model.layers.map(LayerGradients.init(like:))
        finalNorm = [Float](repeating: 0, count: model.finalNorm.count)
        lmHead = model.lmHead.map { [Float](repeating: 0, count: $0.count) }
    }

    /// Applies `body(into, from)` to every pair of corresponding parameter buffers.
    mutating func combine(_ other: ModelGradients, _ body: (inout [Float], [Float]) -> Void) {
        precondition(layers.count == other.layers.count, "gradient shapes differ")
        body(&embedding, other.embedding)
        body(&finalNorm, other.finalNorm)
        if lmHead != nil, let h = other.lmHead { body(&lmHead!, h) }
        for i in layers.indices {
            body(&layers[i].inputNorm, other.layers[i].inputNorm)
            body(&layers[i].postAttentionNorm, other.layers[i].postAttentionNorm)
            for p in Projection.allCases {
                body(&layers[i][p].weight, other.layers[i][p].weight)
                if layers[i][p].bias != nil, let b = other.layers[i][p].bias { body(&layers[i][p].bias!, b) }
            }
        }
    }

    /// self += scale · other
    public mutating func add(_ other: ModelGradients, scale: Float = 1) {
        combine(other) { a, b in
            precondition(a.count == b.count, "gradient shapes differ")
            for j in a.indices { a[j] += scale * b[j] }
        }
    }

    /// self += scale · other ⊙ other (diagonal Fisher accumulation)
    public mutating func addSquared(_ other: ModelGradients, scale: Float = 1) {
        combine(other) { a, b in
            precondition(a.count == b.count, "gradient shapes differ")
            for j in a.indices { a[j] += scale * b[j] * b[j] }
        }
    }
}

extension ModelGradients {
    /// nil when these gradients have exactly the shape of `model`'s parameters; otherwise
    /// the first difference found, in words.
    public func mismatch(with model: LlamaModel) -> String? {
        if embedding.count != model.embedding.count { return "embedding has \(embedding.count) values, the model \(model.embedding.count)" }
        if finalNorm.count != model.finalNorm.count { return "final norm has \(finalNorm.count) values, the model \(model.finalNorm.count)" }
        if (lmHead == nil) != (model.lmHead == nil) { return "LM head is \(lmHead == nil ? "tied" : "untied") here, \(model.lmHead == nil ? "tied" : "untied") in the model" }
        if let h = lmHead, h.count != model.lmHead!.count { return "LM head has \(h.count) values, the model \(model.lmHead!.count)" }
        if layers.count != model.layers.count { return "\(layers.count) layers, the model has \(model.layers.count)" }
        for (i, (g, l)) in zip(layers, model.layers).enumerated() {
            if g.inputNorm.count != l.inputNorm.count || g.postAttentionNorm.count != l.postAttentionNorm.count {
                return "layer \(i): norm sizes differ"
            }
            for p in Projection.allCases {
                let gp = g[p], lp = l[p]
                if gp.weight.count != lp.weight.count { return "layer \(i) \(p): \(gp.weight.count) weights, the model \(lp.weight.count)" }
                if gp.bias?.count != lp.bias?.count { return "layer \(i) \(p): bias shapes differ" }
            }
        }
        return nil
    }
}

extension ModelGradients {
    /// Sets every gradient to zero in place, keeping the buffers (so one accumulator can be
    /// reused window after window, e.g. for per-window squared gradients).
    public mutating func setZero() {
        func clear(_ a: inout [Float]) { a.withUnsafeMutableBufferPointer { $0.update(repeating: 0) } }
        clear(&embedding); clear(&finalNorm)
        if lmHead != nil { clear(&lmHead!) }
        for i in layers.indices {
            clear(&layers[i].inputNorm); clear(&layers[i].postAttentionNorm)
            clear(&layers[i].q.weight); clear(&layers[i].k.weight); clear(&layers[i].v.weight)
            clear(&layers[i].o.weight); clear(&layers[i].gate.weight); clear(&layers[i].up.weight)
            clear(&layers[i].down.weight)
            if layers[i].q.bias != nil { clear(&layers[i].q.bias!) }
            if layers[i].k.bias != nil { clear(&layers[i].k.bias!) }
            if layers[i].v.bias != nil { clear(&layers[i].v.bias!) }
            if layers[i].o.bias != nil { clear(&layers[i].o.bias!) }
            if layers[i].gate.bias != nil { clear(&layers[i].gate.bias!) }
            if layers[i].up.bias != nil { clear(&layers[i].up.bias!) }
            if layers[i].down.bias != nil { clear(&layers[i].down.bias!) }
        }
    }
}
