import LLM

/// Builds the physically smaller model a `StructuredPlan` describes: removed heads, channels and
/// layers are gone from every tensor that holds them, so the new model has its own per-layer
/// head, KV-head and MLP widths (and possibly a narrower residual stream).
public enum StructuralShrink {
    public static func apply(_ plan: StructuredPlan, to model: LlamaModel) -> LlamaModel {
        let d = model.hiddenSize
        let hidden = plan.keptHiddenChannels ?? Array(0..<d)
        let narrow = hidden.count != d

        /// Columns `cols` of a row-major [rows × inFeatures] matrix.
        func columns(_ w: [Float], rows: Int, inFeatures: Int, _ cols: [Int]) -> [Float] {
            var out = [Float](); out.reserveCapacity(rows * cols.count)
            for r in 0..<rows { let base = r * inFeatures; for c in cols { out.append(w[base + c]) } }
            return out
        }
        /// Rows `rows` of a row-major matrix with `inFeatures` columns.
        func rows(_ w: [Float], inFeatures: Int, _ rows: [Int]) -> [Float] {
            var out = [Float](); out.reserveCapacity(rows.count * inFeatures)
            for r in rows { out.append(contentsOf: w[(r * inFeatures)..<((r + 1) * inFeatures)]) }
            return out
        }
        func vector(_ v: [Float], _ idx: [Int]) -> [Float] { idx.map { v[$0] } }
        /// A linear layer keeping output rows `outIdx` and input columns `inIdx`.
        func cut(_ lin: Linear, out outIdx: [Int]?, in inIdx: [Int]?) -> Linear {
            var w = lin.weight, outF = lin.outFeatures, inF = lin.inFeatures
            var b = lin.bias
            if let o = outIdx, o.count != outF {
                w = rows(w, inFeatures: inF, o); outF = o.count; b = b.map { vector($0, o) }
            }
            if let i = inIdx, i.count != inF {
                w = columns(w, rows: outF, inFeatures: inF, i); inF = i.count
            }
            return Linear(weight: w, outFeatures: outF, inFeatures: inF, bias: b)
        }

        var layers: [DecoderLayer] = []
        for i in plan.keptLayers {
            let l = model.layers[i]
            let hd = l.headDim, perKV = l.kvHeads == 0 ? 0 : l.heads / l.kvHeads
            let kv = plan.keptKVGroups[i]
            let qRows = kv.flatMap { g in ((g * perKV * hd)..<((g + 1) * perKV * hd)).map { $0 } }
            let kvRows = kv.flatMap { g in ((g * hd)..<((g + 1) * hd)).map { $0 } }
            let mlp = plan.keptMLPChannels[i]
            let h: [Int]? = narrow ? hidden : nil
            // Edit a copy: DecoderLayer's widths are public properties, its memberwise init is not.
            var n = l
            if narrow {
                n.inputNorm = vector(l.inputNorm, hidden)
                n.postAttentionNorm = vector(l.postAttentionNorm, hidden)
            }
            n.q = cut(l.q, out: qRows, in: h); n.k = cut(l.k, out: kvRows, in: h); n.v = cut(l.v, out: kvRows, in: h)
            n.o = cut(l.o, out: h, in: qRows)
            n.gate = cut(l.gate, out: mlp, in: h); n.up = cut(l.up, out: mlp, in: h); n.down = cut(l.down, out: h, in: mlp)
            n.heads = kv.count * perKV
            n.kvHeads = kv.count
            layers.append(n)
        }
        var config = model.config
        config.hiddenSize = hidden.count
        config.numHeads = layers.map(\.heads)
        config.numKVHeads = layers.map(\.kvHeads)
        config.intermediateSizes = layers.map(\.intermediateSize)
        let v = model.vocabSize
        let embedding = narrow ? columns(model.embedding, rows: v, inFeatures: d, hidden) : model.embedding
        let head = model.lmHead.map { narrow ? columns($0, rows: v, inFeatures: d, hidden) : $0 }
        return LlamaModel(config: config, embedding: embedding, layers: layers,
                          finalNorm: narrow ? vector(model.finalNorm, hidden) : model.finalNorm, lmHead: head)
    }
}
