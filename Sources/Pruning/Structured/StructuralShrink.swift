import LLM
import ModelIO

/// Builds the physically smaller model a `StructuredPlan` describes: removed heads, channels and
/// layers are gone from every tensor that holds them, so the new model has its own per-layer
/// head, KV-head and MLP widths (and possibly a narrower residual stream). It walks the parameter
/// registry: each tensor is cut along the axes its entry labels (`TensorAxis`), whatever the family.
public enum StructuralShrink {
    public static func apply(_ plan: StructuredPlan, to model: LanguageModel) throws -> LanguageModel {
        let d = model.hiddenSize
        let hidden = plan.keptHiddenChannels ?? Array(0..<d)
        let shapes = model.blockShapes

        /// The query rows of the kept KV groups of block i (each group: its query heads' head_dim rows).
        func queryRows(_ i: Int) -> [Int] {
            let s = shapes[i], perKV = s.kvHeads == 0 ? 0 : s.heads / s.kvHeads, hd = s.headDim
            return plan.keptKVGroups[i].flatMap { g in Array((g * perKV * hd)..<((g + 1) * perKV * hd)) }
        }
        func kvRows(_ i: Int) -> [Int] {
            let hd = shapes[i].headDim
            return plan.keptKVGroups[i].flatMap { g in Array((g * hd)..<((g + 1) * hd)) }
        }
        /// Kept indices along one axis of a tensor of the source model.
        func kept(_ axis: TensorAxis, size: Int) -> [Int]? {
            switch axis {
            case .hidden: return hidden.count == size ? nil : hidden
            case .queryChannels(let i): return queryRows(i)
            case .kvChannels(let i): return kvRows(i)
            case .mlpChannels(let i): return plan.keptMLPChannels[i]
            default: return nil
            }
        }

        let source = Dictionary(uniqueKeysWithValues: model.parameters.map { ($0.name, $0) })
        let widths = plan.keptLayers.map { i -> BlockShape in
            let s = shapes[i], perKV = s.kvHeads == 0 ? 0 : s.heads / s.kvHeads
            let groups = plan.keptKVGroups[i].count
            return BlockShape(heads: groups * perKV, kvHeads: groups, headDim: s.headDim,
                              intermediateSize: plan.keptMLPChannels[i].count)
        }
        return try model.rebuilt(hiddenSize: hidden.count, widths: widths) { name, shape in
            let old = sourceName(name, keptLayers: plan.keptLayers)
            guard let t = source[old] else { throw TensorSourceError.missingTensor(old) }
            var values = model.withParameter(old) { $0 }
            var dims = t.shape
            // Cut one axis at a time (row-major: the axis splits the tensor into outer × size × inner).
            for (a, axis) in t.axes.enumerated() {
                guard let idx = kept(axis, size: dims[a]), idx.count != dims[a] || idx != Array(0..<dims[a]) else { continue }
                let outer = dims[..<a].reduce(1, *), inner = dims[(a + 1)...].reduce(1, *), size = dims[a]
                var out = [Float](); out.reserveCapacity(outer * idx.count * inner)
                for o in 0..<outer {
                    for k in idx {
                        let base = (o * size + k) * inner
                        out.append(contentsOf: values[base..<(base + inner)])
                    }
                }
                values = out; dims[a] = idx.count
            }
            guard dims == shape else { throw TensorSourceError.shapeMismatch(name: name, expected: shape, found: dims) }
            return values
        }
    }

    /// The source model's name of a tensor of the new model: new block j is old block keptLayers[j].
    static func sourceName(_ name: String, keptLayers: [Int]) -> String {
        guard let r = name.range(of: "layers.") else { return name }
        let rest = name[r.upperBound...]
        guard let dot = rest.firstIndex(of: "."), let j = Int(rest[..<dot]), j < keptLayers.count else { return name }
        return String(name[..<r.upperBound]) + String(keptLayers[j]) + String(rest[dot...])
    }
}
