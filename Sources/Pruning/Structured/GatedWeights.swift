import Foundation
import LLM

/// How L0's gates (`HardConcreteGates`) act on a model, and the loss's derivative by each gate.
/// A gate multiplies everything its unit writes; the weights are frozen, so the gated model is
/// the dense one with some weights scaled:
///
///   KV group g of layer i    columns of o_proj that g's query heads fill        (per column c: C[c])
///   MLP channel j of layer i column j of down_proj                              (per column c: C[c])
///   hidden channel d         row d of every o_proj and down_proj, and column d
///                            of the token embedding (the residual stream's d)   (per row r: R[r])
///   layer i                  all of layer i's o_proj and down_proj              (a scalar s)
///
/// so that a gated o_proj or down_proj of layer i is W = s · diag(R) · W₀ · diag(C). With G = ∂L/∂W
/// from the model's backward and P = G ⊙ W₀ (CoFi's gate gradients, written for products of gates):
///     ∂L/∂C[c] = s · Σ_r P[r, c]·R[r]            (a unit sums its columns)
///     ∂L/∂R[r] = s · Σ_c P[r, c]·C[c]            (+ Σ_v ∂L/∂E[v, r]·E₀[v, r] from the embedding)
///     ∂L/∂s    =     Σ_r Σ_c P[r, c]·R[r]·C[c]
/// With a tied head the embedding's gradient holds the head's share too, and the head is gated
/// with it: both are the one tensor E = E₀ · diag(R).
/// Hidden and layer gates need a residual stream written only by the embedding, o_proj and
/// down_proj (no position table, no biases on those projections, no embedding projection):
/// the Llama family; `checkResidualGating` refuses the others.
struct GatedWeights {
    /// Gate values (or the loss's derivatives by them), one list per gated unit kind.
    struct Values: Equatable {
        var attention: [Int: [Double]] = [:]   // layer → one per KV group
        var mlp: [Int: [Double]] = [:]         // layer → one per MLP channel
        var hidden: [Double]?                  // one per residual channel
        var layers: [Double]?                  // one per layer
    }

    let model: LanguageModel
    /// The layers whose o_proj / down_proj some gate scales, with their frozen weights.
    let originalO: [Int: Linear], originalDown: [Int: Linear]
    /// The frozen token embedding when hidden channels are gated ([vocab × hidden]).
    let originalEmbedding: [Float]?
    let embeddingName: String
    /// The parameters whose gradients the gates need.
    let gradientNames: [String]

    /// Gates on the KV groups of `attentionLayers`, the MLP channels of `mlpLayers`, and (where
    /// asked) the hidden channels and the layers.
    init(model: LanguageModel, attentionLayers: Set<Int>, mlpLayers: Set<Int>, hidden: Bool, layers: Bool) throws {
        self.model = model
        if hidden || layers { try Self.checkResidualGating(model) }
        let all = Set(0..<model.layerCount)
        let oLayers = hidden || layers ? all : attentionLayers, downLayers = hidden || layers ? all : mlpLayers
        originalO = Dictionary(uniqueKeysWithValues: oLayers.map { ($0, model.linear(.o, layer: $0)) })
        originalDown = Dictionary(uniqueKeysWithValues: downLayers.map { ($0, model.linear(.down, layer: $0)) })
        embeddingName = model.parameters.first { $0.role == .tokenEmbedding }!.name
        originalEmbedding = hidden ? model.withParameter(embeddingName) { $0 } : nil
        gradientNames = oLayers.sorted().map { model.moduleName(.o, layer: $0) + ".weight" }
            + downLayers.sorted().map { model.moduleName(.down, layer: $0) + ".weight" }
            + (hidden ? [embeddingName] : [])
    }

    /// Refuses hidden and layer gates on a model whose residual stream has other writers.
    static func checkResidualGating(_ model: LanguageModel) throws {
        for t in model.parameters {
            switch t.role {
            case .positionEmbedding, .embeddingProjection, .bias(.o, _), .bias(.down, _):
                throw StructuredPruningError.invalidSetting(
                    "L0 gates on hidden channels or layers need a residual stream written only by the embedding, o_proj and down_proj; this \(model.architecture) model also writes it through \(t.name)")
            default: continue
            }
        }
    }

    /// Per-column gate of layer i's o_proj (each KV group's query-head columns) or down_proj.
    func columnGates(_ v: Values, layer i: Int, attention: Bool) -> [Double]? {
        guard let units = attention ? v.attention[i] : v.mlp[i] else { return nil }
        guard attention else { return units }
        let s = model.blockShape(i), width = s.heads / s.kvHeads * s.headDim
        return units.flatMap { [Double](repeating: $0, count: width) }
    }

    /// Writes the gated weights into the model.
    func write(_ v: Values) {
        for (attention, originals) in [(true, originalO), (false, originalDown)] {
            for (i, w0) in originals {
                let cols = columnGates(v, layer: i, attention: attention)
                let s = v.layers?[i] ?? 1
                var l = w0
                let n = l.inFeatures
                l.weight.withUnsafeMutableBufferPointer { w in
                    for r in 0..<l.outFeatures {
                        let rowScale = s * (v.hidden?[r] ?? 1)
                        for c in 0..<n { w[r * n + c] = Float(Double(w[r * n + c]) * rowScale * (cols?[c] ?? 1)) }
                    }
                }
                model.setLinear(l, attention ? .o : .down, layer: i)
            }
        }
        if let e0 = originalEmbedding, let h = v.hidden {
            let d = model.hiddenSize
            model.withParameter(embeddingName) { e in
                for k in 0..<e0.count { e[k] = Float(Double(e0[k]) * h[k % d]) }
            }
        }
    }

    /// Puts the frozen weights back.
    func restore() {
        for (i, l) in originalO { model.setLinear(l, .o, layer: i) }
        for (i, l) in originalDown { model.setLinear(l, .down, layer: i) }
        if let e0 = originalEmbedding { model.withParameter(embeddingName) { $0 = e0 } }
    }

    /// ∂L/∂(each gate) at gate values `v`, from the gradient of the gated weights.
    func gradients(_ g: ModelGradients, at v: Values) throws -> Values {
        var out = Values()
        var dHidden = v.hidden.map { [Double](repeating: 0, count: $0.count) }
        var dLayers = v.layers.map { [Double](repeating: 0, count: $0.count) }
        for (attention, originals) in [(true, originalO), (false, originalDown)] {
            for (i, w0) in originals.sorted(by: { $0.key < $1.key }) {
                let p: Projection = attention ? .o : .down
                let grad = g[model.moduleName(p, layer: i) + ".weight"]
                guard grad.count == w0.weight.count else {
                    throw PruningError.numerical("L0: the gradient of layer \(i)'s \(p) has \(grad.count) values for \(w0.weight.count) weights")
                }
                let cols = columnGates(v, layer: i, attention: attention)
                let s = v.layers?[i] ?? 1, n = w0.inFeatures
                var colSum = [Double](repeating: 0, count: n)
                var total = 0.0
                for r in 0..<w0.outFeatures {
                    let rowGate = v.hidden?[r] ?? 1
                    var rowSum = 0.0
                    for c in 0..<n {
                        let pv = Double(grad[r * n + c]) * Double(w0.weight[r * n + c])
                        rowSum += pv * (cols?[c] ?? 1)
                        colSum[c] += pv * rowGate
                    }
                    dHidden?[r] += s * rowSum
                    total += rowSum * rowGate
                }
                dLayers?[i] += total
                if let units = attention ? v.attention[i] : v.mlp[i] {
                    let width = n / units.count
                    out[attention ? .attention(layer: i) : .mlp(layer: i)] = (0..<units.count).map { u in
                        s * colSum[(u * width)..<((u + 1) * width)].reduce(0, +)
                    }
                }
            }
        }
        if let e0 = originalEmbedding, dHidden != nil {
            let ge = g[embeddingName], d = model.hiddenSize
            guard ge.count == e0.count else {
                throw PruningError.numerical("L0: the embedding's gradient has \(ge.count) values for \(e0.count) weights")
            }
            for k in 0..<e0.count { dHidden![k % d] += Double(ge[k]) * Double(e0[k]) }
        }
        out.hidden = dHidden; out.layers = dLayers
        let named = [("hidden channel", out.hidden ?? []), ("layer", out.layers ?? [])]
            + out.attention.map { ("layer \($0.key)'s attention group", $0.value) } + out.mlp.map { ("layer \($0.key)'s MLP channel", $0.value) }
        for (name, values) in named {
            if let j = values.firstIndex(where: { !$0.isFinite }) {
                throw PruningError.numerical("L0: the loss's gradient by \(name) \(j)'s gate is not finite")
            }
        }
        return out
    }
}
