import LLM
import ModelIO

/// Builds the physically smaller model a `StructuredPlan` describes: removed heads, channels and
/// layers are gone from every tensor that holds them, so the new model has its own per-layer
/// head, KV-head and MLP widths (and possibly a narrower residual stream). It walks the parameter
/// registry: each tensor is cut along the axes its entry labels (`TensorAxis`), whatever the family.
public enum StructuralShrink {
    public static func apply(_ plan: StructuredPlan, to model: LanguageModel) throws -> LanguageModel {
        let (hiddenSize, widths, tensor) = cut(plan, model)
        return try model.rebuilt(hiddenSize: hiddenSize, widths: widths, tensor: tensor)
    }

    /// The smaller model of a model whose blocks are streamed (`residency`): its blocks are cut
    /// only when the returned residency loads them, each from its source block (loaded for the
    /// cut, then released), so neither model is ever whole in memory.
    public static func streamed(_ plan: StructuredPlan, from model: LanguageModel,
                                residency: LayerResidency) throws -> (model: LanguageModel, residency: LayerResidency) {
        let (hiddenSize, widths, tensor) = cut(plan, model)
        let (pruned, blocks) = try model.streamedRebuild(hiddenSize: hiddenSize, widths: widths, tensor: tensor)
        return (pruned, CutBlocks(pruned: blocks, source: residency, keptLayers: plan.keptLayers))
    }

    /// Loads pruned block i by loading its source block, cutting it, and releasing the source.
    final class CutBlocks: LayerResidency {
        let pruned: LayerResidency, source: LayerResidency, keptLayers: [Int]
        init(pruned: LayerResidency, source: LayerResidency, keptLayers: [Int]) {
            self.pruned = pruned; self.source = source; self.keptLayers = keptLayers
        }
        func load(_ i: Int) throws {
            guard !pruned.isResident(i) else { return }
            let j = keptLayers[i], wasResident = source.isResident(j)
            try source.load(j)
            defer { if !wasResident { source.release(j) } }
            try pruned.load(i)
        }
        func release(_ i: Int) { pruned.release(i) }
        func isResident(_ i: Int) -> Bool { pruned.isResident(i) }
    }

    /// The new widths and the function that cuts each tensor of the new model from `model`.
    static func cut(_ plan: StructuredPlan, _ model: LanguageModel)
        -> (hiddenSize: Int, widths: [BlockShape], tensor: (String, [Int]) throws -> [Float]) {
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
        let keptLayers = plan.keptLayers
        return (hidden.count, widths, { name, shape in
            let old = sourceName(name, keptLayers: keptLayers)
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
        })
    }

    /// The source model's name of a tensor of the new model: new block j is old block keptLayers[j].
    static func sourceName(_ name: String, keptLayers: [Int]) -> String {
        guard let r = name.range(of: "layers.") else { return name }
        let rest = name[r.upperBound...]
        guard let dot = rest.firstIndex(of: "."), let j = Int(rest[..<dot]), j < keptLayers.count else { return name }
        return String(name[..<r.upperBound]) + String(keptLayers[j]) + String(rest[dot...])
    }
}
