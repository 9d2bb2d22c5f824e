import Foundation
import ModelIO

/// A llama.cpp GGUF model of the Llama family seen as a Hugging Face checkpoint: HF tensor names and shapes,
/// float32 data (dequantized), and a `ModelConfig` built from the GGUF metadata.
///
/// Supported `general.architecture` values: llama (which llama.cpp also uses for Mistral),
/// mistral, qwen2, and deci — llama.cpp's Llama with per-layer head counts and FFN widths
/// (Llama-3.1-Nemotron-51B; what Secateur exports for non-uniformly pruned models). A deci
/// layer with 0 heads has no attention tensors at all (not even attn_norm); such layers are
/// given empty projections and a unit norm here, which compute the same nothing.
public final class GGUFCheckpoint: CheckpointSource {
    public static let supportedArchitectures = ["llama", "mistral", "qwen2", "deci"]

    public let file: GGUFFile
    public let config: ModelConfig
    /// HF names of the tensors that map to the model, in file order.
    public let tensorNames: [String]
    /// GGUF tensors with no HF counterpart (e.g. `rope_freqs.weight`), ignored by `loadFloat32`.
    public let unmappedTensorNames: [String]
    /// Whether q/k rows were permuted by llama.cpp's converter (llama/mistral, not qwen2).
    public let rotaryRowsPermuted: Bool

    private let infoByHFName: [String: GGUFTensorInfo]

    public convenience init(path: String) throws {
        try self.init(file: GGUFFile(path: path))
    }

    public init(file: GGUFFile) throws {
        self.file = file
        let path = file.path
        guard let arch = file.metadata["general.architecture"]?.string else {
            throw GGUFError.missingMetadata(path: path, key: "general.architecture")
        }
        guard GGUFCheckpoint.supportedArchitectures.contains(arch) else {
            throw GGUFError.unsupportedArchitecture(path: path, architecture: arch, supported: GGUFCheckpoint.supportedArchitectures)
        }
        rotaryRowsPermuted = arch != "qwen2"

        var names = [String](), unmapped = [String](), byHF = [String: GGUFTensorInfo]()
        for t in file.tensors {
            if let hf = GGUFCheckpoint.hfName(forGGUFName: t.name) {
                names.append(hf); byHF[hf] = t
            } else {
                unmapped.append(t.name)
            }
        }
        tensorNames = names
        unmappedTensorNames = unmapped
        infoByHFName = byHF
        let config = try GGUFCheckpoint.makeConfig(file: file, arch: arch)
        self.config = config
    }

    /// A tensor a zero-width layer's builder asks for but a deci file leaves out: its shape and
    /// the value every element has (1 for a norm, 0 for an empty projection), or nil. Worked out
    /// per request rather than stored for every layer: the layer count and width come from the
    /// file, and a header claiming 65,536 layers of width 2²⁴ must cost nothing until a tensor of
    /// that size is actually asked for (and a real one of that size is then in the file).
    static func zeroWidthTensor(_ name: String, config c: ModelConfig, present: Bool) -> (shape: [Int], fill: Float)? {
        guard !present else { return nil }
        let parts = name.split(separator: ".", maxSplits: 3)
        guard parts.count == 4, parts[0] == "model", parts[1] == "layers", let l = Int(parts[2]),
              l >= 0, l < c.numLayers else { return nil }
        let rest = String(parts[3]), d = c.hiddenSize
        if c.numHeads[l] == 0 {
            if rest == LlamaTensorNames.inputNorm.hf + ".weight" { return ([d], 1) }
            for proj in [Projection.q, .k, .v] {
                if rest == LlamaTensorNames.module(proj) + ".weight" { return ([0, d], 0) }
                if c.attentionBias, rest == LlamaTensorNames.module(proj) + ".bias" { return ([0], 0) }
            }
            if rest == LlamaTensorNames.module(.o) + ".weight" { return ([d, 0], 0) }
        }
        if c.intermediateSizes[l] == 0 {
            if rest == LlamaTensorNames.postAttentionNorm.hf + ".weight" { return ([d], 1) }
            if rest == LlamaTensorNames.module(.gate) + ".weight" || rest == LlamaTensorNames.module(.up) + ".weight" { return ([0, d], 0) }
            if rest == LlamaTensorNames.module(.down) + ".weight" { return ([d, 0], 0) }
        }
        return nil
    }

    private func synthesized(_ name: String) -> (shape: [Int], fill: Float)? {
        GGUFCheckpoint.zeroWidthTensor(name, config: config, present: infoByHFName[name] != nil)
    }

    public func shape(of name: String) -> [Int]? { infoByHFName[name]?.shape ?? synthesized(name)?.shape }

    /// The GGUF tensor behind an HF name.
    public func ggufTensor(for name: String) -> GGUFTensorInfo? { infoByHFName[name] }

    public func loadFloat32(_ name: String) throws -> [Float] {
        if let t = synthesized(name) { return [Float](repeating: t.fill, count: t.shape.reduce(1, *)) }
        guard let info = infoByHFName[name] else { throw GGUFError.tensorNotFound(path: file.path, name: name) }
        let data = try file.decodeFloat32(info)
        guard rotaryRowsPermuted, let (layer, isQ) = GGUFCheckpoint.rotaryProjection(name),
              layer < config.numLayers else { return data }
        let heads = isQ ? config.numHeads[layer] : config.numKVHeads[layer]
        let rows = info.shape[0]
        guard heads > 0, rows % (2 * heads) == 0 else {
            throw GGUFError.unsupportedModel(path: file.path, reason: "tensor '\(info.name)' has \(rows) rows, which cannot be split into \(heads) heads of even size to undo llama.cpp's rotary permutation")
        }
        return LlamaCppRotaryPermutation.unpermute(data, rows: rows, cols: data.count / rows, heads: heads)
    }

    /// A 2-D tensor's stored bytes in Hugging Face row order (llama.cpp's q/k row permutation
    /// undone by moving whole rows, so block-quantized rows stay intact): what running a GGUF's
    /// own encoding needs. Nil for tensors the file does not hold.
    public func storedRows(_ name: String) throws -> (type: GGMLType, rows: Int, columns: Int, bytes: [UInt8])? {
        guard let info = infoByHFName[name], info.dims.count == 2 else { return nil }
        var bytes = [UInt8](try file.rawBytes(info))
        let rows = info.shape[0], columns = info.shape[1]
        guard rows > 0 else { return (info.type, rows, columns, bytes) }
        if rotaryRowsPermuted, let (layer, isQ) = GGUFCheckpoint.rotaryProjection(name), layer < config.numLayers {
            let heads = isQ ? config.numHeads[layer] : config.numKVHeads[layer]
            guard heads > 0, rows % (2 * heads) == 0 else {
                throw GGUFError.unsupportedModel(path: file.path, reason: "tensor '\(info.name)' has \(rows) rows, which cannot be split into \(heads) heads of even size to undo llama.cpp's rotary permutation")
            }
            bytes = LlamaCppRotaryPermutation.unpermute(rows: bytes, rows: rows, rowLength: bytes.count / rows, heads: heads, zero: 0)
        }
        return (info.type, rows, columns, bytes)
    }

    /// (layer, isQuery) for `model.layers.N.self_attn.{q,k}_proj.{weight,bias}`.
    static func rotaryProjection(_ name: String) -> (Int, Bool)? {
        let parts = name.split(separator: ".")
        guard parts.count == 6, parts[0] == "model", parts[1] == "layers", let layer = Int(parts[2]),
              parts[3] == "self_attn", parts[5] == "weight" || parts[5] == "bias" else { return nil }
        if parts[4] == "q_proj" { return (layer, true) }
        if parts[4] == "k_proj" { return (layer, false) }
        return nil
    }

    /// Hugging Face name of a llama.cpp tensor name, or nil if it has none (`LlamaTensorNames`).
    public static func hfName(forGGUFName name: String) -> String? { LlamaTensorNames.hfName(forGGUFName: name) }

    // MARK: - Config from metadata

    static func makeConfig(file: GGUFFile, arch: String) throws -> ModelConfig {
        let path = file.path
        let md = file.metadata
        func key(_ k: String) -> String { "\(arch).\(k)" }
        func int(_ k: String) throws -> Int? {
            guard let v = md[k] else { return nil }
            guard let i = v.int else { throw GGUFError.badMetadata(path: path, key: k, reason: "should be an integer but is \(v)") }
            return i
        }
        func requiredInt(_ k: String) throws -> Int {
            guard let i = try int(k) else { throw GGUFError.missingMetadata(path: path, key: k) }
            return i
        }
        func float(_ k: String) throws -> Float? {
            guard let v = md[k] else { return nil }
            guard let f = v.float else { throw GGUFError.badMetadata(path: path, key: k, reason: "should be a number but is \(v)") }
            return f
        }
        func positive(_ k: String, _ v: Int) throws -> Int {
            if let why = ModelSizeLimits.problem(v, isLayerCount: k.hasSuffix("block_count")) {
                throw GGUFError.badMetadata(path: path, key: k, reason: why)
            }
            return v
        }

        let nLayers = try positive(key("block_count"), try requiredInt(key("block_count")))
        let hidden = try positive(key("embedding_length"), try requiredInt(key("embedding_length")))

        /// An integer or a per-layer array of integers.
        func perLayer(_ k: String, default def: [Int]? = nil, allowZero: Bool = false) throws -> [Int] {
            guard let v = md[k] else {
                if let def { return def }
                throw GGUFError.missingMetadata(path: path, key: k)
            }
            var values: [Int]
            if let i = v.int { values = Array(repeating: i, count: nLayers) }
            else if let a = v.ints {
                guard a.count == nLayers else {
                    throw GGUFError.badMetadata(path: path, key: k, reason: "has \(a.count) entries but block_count is \(nLayers)")
                }
                values = a
            } else {
                throw GGUFError.badMetadata(path: path, key: k, reason: "should be an integer or an array of integers but is \(v)")
            }
            for x in values where x < 0 || (x == 0 && !allowZero) || x > ModelSizeLimits.width {
                throw GGUFError.badMetadata(path: path, key: k, reason: x > 0 ? "contains \(x), more than any real checkpoint has" : "contains \(x), must be positive")
            }
            return values
        }

        // Only deci has layers without attention or MLP.
        let zeroWidths = arch == "deci"
        let heads = try perLayer(key("attention.head_count"), allowZero: zeroWidths)
        let kvHeads = try perLayer(key("attention.head_count_kv"), default: heads, allowZero: zeroWidths)
        let ffn = try perLayer(key("feed_forward_length"), allowZero: zeroWidths)
        for (l, (h, kv)) in zip(heads, kvHeads).enumerated() where h > 0 && kv == 0 {
            throw GGUFError.unsupportedModel(path: path, reason: "layer \(l) has \(h) heads and 0 KV heads (deci's linear-attention replacement), which is not supported")
        }

        let headDim: Int
        if let k = try int(key("attention.key_length")) {
            headDim = try positive(key("attention.key_length"), k)
        } else {
            guard heads[0] > 0, hidden % heads[0] == 0 else {
                throw GGUFError.badMetadata(path: path, key: key("attention.head_count"), reason: "is \(heads[0]), which does not divide embedding_length \(hidden); set attention.key_length")
            }
            headDim = hidden / heads[0]
        }
        if let v = try int(key("attention.value_length")), v != headDim {
            throw GGUFError.unsupportedModel(path: path, reason: "attention.value_length \(v) differs from key_length \(headDim), which is not supported")
        }
        if let r = try int(key("rope.dimension_count")), r != headDim {
            throw GGUFError.unsupportedModel(path: path, reason: "rope.dimension_count \(r) differs from the head size \(headDim) (partial rotary embeddings are not supported)")
        }
        for (l, (h, kv)) in zip(heads, kvHeads).enumerated() where kv > 0 && h % kv != 0 {
            throw GGUFError.badMetadata(path: path, key: key("attention.head_count_kv"), reason: "layer \(l): \(kv) KV heads do not divide \(h) query heads")
        }

        guard let eps = try float(key("attention.layer_norm_rms_epsilon")) else {
            throw GGUFError.missingMetadata(path: path, key: key("attention.layer_norm_rms_epsilon"))
        }
        let theta = try float(key("rope.freq_base")) ?? 10000

        let vocab: Int
        if let v = try int(key("vocab_size")) { vocab = v }
        else if let toks = md["tokenizer.ggml.tokens"]?.array { vocab = toks.count }
        else if let emb = file.tensor(named: "token_embd.weight"), emb.dims.count == 2 { vocab = emb.dims[1] }
        else { throw GGUFError.missingMetadata(path: path, key: key("vocab_size")) }

        let maxPos = try int(key("context_length")) ?? 2048
        let scaling = try ropeScaling(file: file, arch: arch, headDim: headDim, theta: theta)

        // deci is llama with per-layer widths: the model it describes is a Llama.
        return ModelConfig(
            architecture: arch == "deci" ? "llama" : arch, vocabSize: vocab, hiddenSize: hidden, headDim: headDim,
            numHeads: heads, numKVHeads: kvHeads, intermediateSizes: ffn, rmsNormEps: eps,
            ropeTheta: theta, ropeScaling: scaling,
            tieWordEmbeddings: file.tensor(named: "output.weight") == nil,
            attentionBias: file.tensor(named: "blk.0.attn_q.bias") != nil,
            maxPositionEmbeddings: maxPos,
            bosTokenID: try int("tokenizer.ggml.bos_token_id"),
            eosTokenID: try int("tokenizer.ggml.eos_token_id"))
    }

    /// RoPE scaling from `{arch}.rope.scaling.*` (linear), the older `{arch}.rope.scale_linear`,
    /// or — for Llama 3.1/3.2 conversions, which store only per-frequency divisors in the
    /// `rope_freqs.weight` tensor — the llama3 parameters those divisors were computed from.
    static func ropeScaling(file: GGUFFile, arch: String, headDim: Int, theta: Float) throws -> RopeScaling? {
        let path = file.path, md = file.metadata
        let origKey = "\(arch).rope.scaling.original_context_length"
        let orig = md[origKey]?.int
        if let type = md["\(arch).rope.scaling.type"]?.string, type != "none" {
            guard type == "linear" else {
                throw GGUFError.unsupportedModel(path: path, reason: "RoPE scaling type '\(type)' is not supported (only linear and llama3)")
            }
            guard let f = md["\(arch).rope.scaling.factor"]?.float else {
                throw GGUFError.missingMetadata(path: path, key: "\(arch).rope.scaling.factor")
            }
            return f == 1 ? nil : RopeScaling(type: "linear", factor: f, originalMaxPositionEmbeddings: orig ?? 8192)
        }
        if let f = md["\(arch).rope.scale_linear"]?.float, f != 1 {
            return RopeScaling(type: "linear", factor: f, originalMaxPositionEmbeddings: orig ?? 8192)
        }
        guard let t = file.tensor(named: "rope_freqs.weight") else { return nil }
        let divisors = try file.decodeFloat32(t)
        guard divisors.count == headDim / 2 else {
            throw GGUFError.unsupportedModel(path: path, reason: "rope_freqs.weight has \(divisors.count) entries, expected head size / 2 = \(headDim / 2)")
        }
        guard let factor = divisors.max(), factor.isFinite, factor > 0 else {
            throw GGUFError.unsupportedModel(path: path, reason: "rope_freqs.weight holds non-finite or non-positive values")
        }
        if divisors.allSatisfy({ $0 == 1 }) { return nil }
        // Llama 3.1 and 3.2 both use low_freq_factor 1, high_freq_factor 4, original context 8192.
        let candidate = RopeScaling(type: "llama3", factor: factor, lowFreqFactor: 1, highFreqFactor: 4,
                                    originalMaxPositionEmbeddings: orig ?? 8192)
        let expected = llama3RopeDivisors(candidate, headDim: headDim, theta: theta)
        if zip(divisors, expected).allSatisfy({ abs($0 - $1) <= 1e-3 * max(1, abs($1)) }) { return candidate }
        // Other llama3 parameters: use the stored divisors as they are, as llama.cpp does.
        return RopeScaling(type: "llama3", factor: factor, originalMaxPositionEmbeddings: orig ?? 8192,
                           frequencyDivisors: divisors)
    }

    /// The per-frequency divisors llama.cpp's converter writes to `rope_freqs.weight` for llama3 scaling.
    static func llama3RopeDivisors(_ s: RopeScaling, headDim: Int, theta: Float) -> [Float] {
        let lowWavelen = Double(s.originalMaxPositionEmbeddings) / Double(s.lowFreqFactor)
        let highWavelen = Double(s.originalMaxPositionEmbeddings) / Double(s.highFreqFactor)
        return (0..<(headDim / 2)).map { i in
            let freq = 1 / pow(Double(theta), Double(2 * i) / Double(headDim))
            let wavelen = 2 * Double.pi / freq
            if wavelen < highWavelen { return 1 }
            if wavelen > lowWavelen { return s.factor }
            let smooth = (Double(s.originalMaxPositionEmbeddings) / wavelen - Double(s.lowFreqFactor))
                / Double(s.highFreqFactor - s.lowFreqFactor)
            return Float(1 / ((1 - smooth) / Double(s.factor) + smooth))
        }
    }
}

/// llama.cpp's HF→GGUF converter (`LlamaModel.permute`) reorders the rows of q_proj and k_proj
/// (weights and biases) of llama-architecture models so that each head's rotary pairs are
/// interleaved (GPT-J style) rather than split into halves (NeoX/HF style):
///
///     w.reshape(n_head, 2, rows / n_head / 2, cols).swapaxes(1, 2).reshape(rows, cols)
///
/// With head size hd = rows / n_head and half = hd / 2, GGUF row h*hd + 2*i + j holds
/// HF row h*hd + j*half + i (i < half, j ∈ {0, 1}). q uses n_head, k uses n_head_kv.
public enum LlamaCppRotaryPermutation {
    /// HF → GGUF (what the converter does). `w` is row-major [rows, cols].
    public static func permute(_ w: [Float], rows: Int, cols: Int, heads: Int) -> [Float] {
        apply(w, rows: rows, cols: cols, heads: heads, toGGUF: true)
    }

    /// GGUF → HF: the exact inverse of `permute`.
    public static func unpermute(_ w: [Float], rows: Int, cols: Int, heads: Int) -> [Float] {
        apply(w, rows: rows, cols: cols, heads: heads, toGGUF: false)
    }

    /// GGUF → HF on rows of any element type (block-quantized rows move as whole rows of bytes).
    public static func unpermute<T>(rows w: [T], rows: Int, rowLength: Int, heads: Int, zero: T) -> [T] {
        apply(w, rows: rows, cols: rowLength, heads: heads, toGGUF: false, zero: zero)
    }

    private static func apply(_ w: [Float], rows: Int, cols: Int, heads: Int, toGGUF: Bool) -> [Float] {
        apply(w, rows: rows, cols: cols, heads: heads, toGGUF: toGGUF, zero: 0)
    }

    private static func apply<T>(_ w: [T], rows: Int, cols: Int, heads: Int, toGGUF: Bool, zero: T) -> [T] {
        precondition(heads > 0 && rows % (2 * heads) == 0 && w.count == rows * cols,
                     "rotary permutation: \(rows) rows × \(cols) cols cannot be split into \(heads) heads of even size")
        let hd = rows / heads, half = hd / 2
        var out = [T](repeating: zero, count: w.count)
        w.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                for h in 0..<heads {
                    for i in 0..<half {
                        for j in 0..<2 {
                            let ggufRow = h * hd + 2 * i + j
                            let hfRow = h * hd + j * half + i
                            let (from, to) = toGGUF ? (hfRow, ggufRow) : (ggufRow, hfRow)
                            (dst.baseAddress! + to * cols).update(from: src.baseAddress! + from * cols, count: cols)
                        }
                    }
                }
            }
        }
        return out
    }
}
