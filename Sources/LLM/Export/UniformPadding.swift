import ModelIO

/// Zero-padding of a model whose blocks have different widths (non-uniform structured
/// pruning) up to one width for every block, so that a runtime that builds every layer from
/// one global config (transformers' LlamaForCausalLM, OPTForCausalLM) can load it.
///
/// The padded model computes exactly the same logits: a padded MLP channel has zero gate/up
/// (fc1) rows and a zero down (fc2) column, so it contributes silu(0)·0 = 0 (relu(0) = 0); a
/// padded query head has zero q rows and a zero o column, and a padded KV head zero k/v rows,
/// so whatever it attends to, it adds 0. It buys no speed: the zeros are computed.
///
/// Grouped-query attention keeps its grouping: query head i of a layer with group size g
/// (heads / kv_heads) reads KV head i / g. The padded layer has G = the largest group size and
/// KV = the most KV heads, and query head i moves to (i / g)·G + i % g, so it still reads KV
/// head i / g. All axes are found through the parameter registry (`TensorAxis`).
public enum UniformPadding {
    /// The widths every block is padded to, or nil when the blocks already agree.
    public static func target(_ model: LanguageModel) -> BlockShape? {
        let shapes = model.blockShapes
        guard let first = shapes.first, shapes.contains(where: { $0 != first }) else { return nil }
        let kv = shapes.map(\.kvHeads).max()!
        let group = shapes.filter { $0.kvHeads > 0 }.map { $0.heads / $0.kvHeads }.max() ?? 1
        var heads = kv * group
        if model is OPTModel {
            // OPT derives head_dim from hidden_size / num_attention_heads: keep the dense count.
            heads = max(heads, model.hiddenSize / first.headDim)
        }
        return BlockShape(heads: heads, kvHeads: model is OPTModel ? heads : kv, headDim: first.headDim,
                          intermediateSize: shapes.map(\.intermediateSize).max()!)
    }

    /// The model padded to `target(model)` (the model itself when already uniform).
    public static func padded(_ model: LanguageModel) throws -> LanguageModel {
        guard let t = target(model) else { return model }
        let shapes = model.blockShapes
        let registry = Dictionary(uniqueKeysWithValues: model.parameters.map { ($0.name, $0) })
        return try model.rebuilt(hiddenSize: model.hiddenSize, widths: Array(repeating: t, count: shapes.count)) { name, shape in
            guard let p = registry[name] else { throw LLMError.invalidConfig("padding: the model has no tensor '\(name)'") }
            let maps = try p.axes.enumerated().map { (d, axis) in
                try indexMap(axis, from: p.shape[d], to: shape[d], shapes: shapes, target: t)
            }
            return model.withParameter(name) { place($0, shape: p.shape, into: shape, maps: maps) }
        }
    }

    /// Where each index of an axis of length `n` goes in the padded axis of length `m`.
    static func indexMap(_ axis: TensorAxis, from n: Int, to m: Int, shapes: [BlockShape], target t: BlockShape) throws -> [Int] {
        switch axis {
        case .queryChannels(let l):
            let s = shapes[l]
            let g = s.kvHeads > 0 ? s.heads / s.kvHeads : 1
            let G = t.kvHeads > 0 ? t.heads / t.kvHeads : 1
            return (0..<n).map { c in
                let head = c / s.headDim, within = c % s.headDim
                return ((head / g) * G + head % g) * s.headDim + within
            }
        default:
            guard n <= m else { throw LLMError.invalidConfig("padding: an axis of \(n) cannot shrink to \(m)") }
            return Array(0..<n)
        }
    }

    /// `values` of `shape` written into zeros of `newShape` (rank 1 or 2) through `maps`.
    static func place(_ values: [Float], shape: [Int], into newShape: [Int], maps: [[Int]]) -> [Float] {
        var out = [Float](repeating: 0, count: newShape.reduce(1, *))
        if shape.count == 1 {
            for i in 0..<shape[0] { out[maps[0][i]] = values[i] }
            return out
        }
        let cols = shape[1], newCols = newShape[1]
        for r in 0..<shape[0] {
            let dst = maps[0][r] * newCols
            for c in 0..<cols { out[dst + maps[1][c]] = values[r * cols + c] }
        }
        return out
    }
}
