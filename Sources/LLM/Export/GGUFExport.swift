import Foundation
import ModelIO

/// A Llama-family model as a llama.cpp GGUF file (v3, alignment 32), laid out as llama.cpp's
/// convert_hf_to_gguf.py lays it out:
///
/// * architecture `llama` (Llama, Mistral) or `qwen2` when every layer has the same widths;
///   `deci` when they differ — llama.cpp's Llama with per-layer `attention.head_count`,
///   `attention.head_count_kv` and `feed_forward_length` arrays (a layer with 0 heads is
///   attention-free and has no attention tensors, not even attn_norm);
/// * tensor names from `LlamaTensorNames`; q/k rows (and biases) permuted so each head's rotary
///   pairs are interleaved (`LlamaCppRotaryPermutation.permute`), except for qwen2, which
///   llama.cpp runs with NeoX rotary on unpermuted rows;
/// * llama3 RoPE scaling as the `rope_freqs.weight` divisors, linear scaling as
///   `rope.scaling.type/factor`;
/// * 2-D weights in the chosen type; norms, biases and rope_freqs in F32. At F16, BF16, Q8_0 and
///   Q4_0 an MLP width that structured pruning left at, say, 733 is padded with zero channels to
///   a multiple of 32
///   (zero gate/up rows, zero down columns: silu(0)·0 adds nothing). Quantized types need rows
///   of whole 32-value blocks — without the padding ffn_down would fall back to F16, as in
///   llama.cpp's converter — and llama.cpp's fast matrix kernels need whole vectors: measured
///   on the 30 % Taylor SmolLM2 at F16, prefill ran at 0.87× the dense model's with 733-wide
///   rows (BENCHMARKS.md). F32 keeps the exact widths, so that its round trip is bit-exact (a
///   padded sum can round differently). Other odd rows (a pruned hidden size) fall back to F16.
///
/// Two llama.cpp facts shape deci exports: it reads the head size from layer 0 (which must
/// therefore keep a head), and its deci graph skips a layer's whole output when
/// `feed_forward_length` is 0 — so an MLP pruned away entirely is written as zero channels
/// (the same function, computed in llama.cpp as in Secateur).
public enum GGUFExport {
    /// MLP widths at types other than F32 are written as multiples of this (ggml's quantization
    /// block, and a whole number of SIMD vectors for its kernels).
    public static let mlpAlignment = 32

    /// What was written.
    public struct Summary: Sendable, Equatable {
        public var architecture: String
        public var tensorCount: Int
        /// Tensors per ggml type name ("f32", "q8_0", …).
        public var tensorsByType: [String: Int]
        /// Matrices written as F16 because their rows are not whole blocks of the chosen type.
        public var fallbackTensors: [String]
        /// Layers whose MLP was written wider, with zero channels (see the type's notes).
        public var paddedMLPLayers: [Int]
    }

    /// The GGUF writer holding `model` (and the tokenizer's metadata when given). Only the
    /// Llama family has a llama.cpp architecture; any other family is refused.
    public static func writer(for model: LanguageModel, dtype: ExportDType, tokenizer: ExportTokenizer?,
                              name: String, description: String? = nil) throws -> (GGUFWriter, Summary) {
        guard let model = model as? LlamaModel else {
            throw ExportError.unsupportedArchitecture(model.architecture, format: .gguf,
                                                      reason: "llama.cpp has no architecture for it; export it with format hf")
        }
        let c = model.config
        let shapes = model.blockShapes
        let uniform = UniformPadding.target(model) == nil
        let family = c.architecture
        guard ["llama", "mistral", "qwen2"].contains(family) else {
            throw ExportError.unsupportedArchitecture(family, format: .gguf, reason: "llama.cpp's GGUF architectures here are llama, qwen2 and deci")
        }
        let arch = uniform ? (family == "qwen2" ? "qwen2" : "llama") : "deci"
        let permuteRotary = arch != "qwen2"
        if !uniform {
            guard let first = shapes.first, first.heads > 0 else {
                throw ExportError.unrepresentable("layer 0 has no attention heads, and llama.cpp's deci reads the head size from layer 0")
            }
        }
        if family == "qwen2", c.ropeScaling != nil, permuteRotary == false {
            throw ExportError.unsupportedArchitecture(family, format: .gguf, reason: "RoPE scaling on qwen2 is not written by this exporter")
        }

        var w = GGUFWriter()
        func key(_ k: String) -> String { "\(arch).\(k)" }
        w.add("general.architecture", .string(arch))
        w.add("general.name", .string(name))
        if let description { w.add("general.description", .string(description)) }
        w.add("general.file_type", .uint32(dtype.llamaFileType))
        if dtype == .q8_0 || dtype == .q4_0 { w.add("general.quantization_version", .uint32(2)) }

        // Per-layer widths: one integer when uniform, arrays for deci. MLP widths padded with
        // zero channels to a multiple of `mlpAlignment` (not at F32), and to at least one in deci.
        let align = dtype == .f32 ? 1 : mlpAlignment
        let mlpWidths = shapes.map { s -> Int in
            let f = uniform ? s.intermediateSize : max(s.intermediateSize, 1)
            return (f + align - 1) / align * align
        }
        func widths(_ v: [Int]) -> GGUFValue {
            uniform ? .uint32(UInt32(v[0])) : .array(.int32, v.map { .int32(Int32($0)) })
        }
        w.add(key("vocab_size"), .uint32(UInt32(c.vocabSize)))
        w.add(key("context_length"), .uint32(UInt32(c.maxPositionEmbeddings)))
        w.add(key("embedding_length"), .uint32(UInt32(c.hiddenSize)))
        w.add(key("block_count"), .uint32(UInt32(shapes.count)))
        w.add(key("feed_forward_length"), widths(mlpWidths))
        w.add(key("attention.head_count"), widths(shapes.map(\.heads)))
        w.add(key("attention.head_count_kv"), widths(shapes.map(\.kvHeads)))
        w.add(key("attention.key_length"), .uint32(UInt32(c.headDim)))
        w.add(key("attention.value_length"), .uint32(UInt32(c.headDim)))
        w.add(key("rope.dimension_count"), .uint32(UInt32(c.headDim)))
        w.add(key("rope.freq_base"), .float32(c.ropeTheta))
        w.add(key("attention.layer_norm_rms_epsilon"), .float32(c.rmsNormEps))
        if let s = c.ropeScaling {
            if s.type == "linear" {
                w.add(key("rope.scaling.type"), .string("linear"))
                w.add(key("rope.scaling.factor"), .float32(s.factor))
            }
            // llama3 scaling is stored as rope_freqs divisors; the original context lets a
            // reader recognise the llama3 formula behind them (llama.cpp reads it as n_ctx_orig).
            w.add(key("rope.scaling.original_context_length"), .uint32(UInt32(s.originalMaxPositionEmbeddings)))
        }

        if let t = tokenizer {
            let md = try t.ggufMetadata ?? t.tokenizer.ggufMetadata()
            for (k, v) in md where k.hasPrefix("tokenizer.") { w.add(k, v) }
            if t.ggufMetadata == nil, let chat = t.chatTemplate { w.add("tokenizer.chat_template", .string(chat)) }
        }

        var summary = Summary(architecture: arch, tensorCount: 0, tensorsByType: [:], fallbackTensors: [], paddedMLPLayers: [])
        func add(_ gguf: String, _ shape: [Int], _ values: [Float], matrix: Bool) throws {
            var type = matrix ? dtype.ggmlType : .f32
            if type.blockSize > 1, shape.last! % type.blockSize != 0 {
                type = .f16
                summary.fallbackTensors.append(gguf)
            }
            try w.addTensor(gguf, shape: shape, values: values, as: type)
            summary.tensorCount += 1
            summary.tensorsByType[type.description.lowercased(), default: 0] += 1
        }

        try add(LlamaTensorNames.embedding.gguf, [c.vocabSize, c.hiddenSize], model.embedding, matrix: true)
        if let s = c.ropeScaling, s.type == "llama3" {
            let divisors = s.frequencyDivisors ?? GGUFCheckpoint.llama3RopeDivisors(s, headDim: c.headDim, theta: c.ropeTheta)
            try add("rope_freqs.weight", [divisors.count], divisors, matrix: false)
        }
        let d = c.hiddenSize
        for (i, layer) in model.layers.enumerated() {
            let s = shapes[i]
            let blk = "blk.\(i)."
            if s.heads > 0 || uniform {
                try add(blk + LlamaTensorNames.inputNorm.gguf + ".weight", [d], layer.inputNorm, matrix: false)
                for (proj, _, gguf) in LlamaTensorNames.projections where [.q, .k, .v, .o].contains(proj) {
                    let lin = layer[proj]
                    var weight = lin.weight, bias = lin.bias
                    if permuteRotary, proj == .q || proj == .k {
                        let heads = proj == .q ? s.heads : s.kvHeads
                        weight = LlamaCppRotaryPermutation.permute(weight, rows: lin.outFeatures, cols: lin.inFeatures, heads: heads)
                        bias = bias.map { LlamaCppRotaryPermutation.permute($0, rows: lin.outFeatures, cols: 1, heads: heads) }
                    }
                    try add(blk + gguf + ".weight", [lin.outFeatures, lin.inFeatures], weight, matrix: true)
                    if let bias { try add(blk + gguf + ".bias", [lin.outFeatures], bias, matrix: false) }
                }
            }
            try add(blk + LlamaTensorNames.postAttentionNorm.gguf + ".weight", [d], layer.postAttentionNorm, matrix: false)
            let f = mlpWidths[i], kept = s.intermediateSize
            if f != kept { summary.paddedMLPLayers.append(i) }
            for (proj, _, gguf) in LlamaTensorNames.projections where [.gate, .up, .down].contains(proj) {
                // Kept channels first, zero channels after them.
                let (from, to) = proj == .down ? ([d, kept], [d, f]) : ([kept, d], [f, d])
                let w = layer[proj].weight
                let values = f == kept ? w : UniformPadding.place(w, shape: from, into: to, maps: from.map { Array(0..<$0) })
                try add(blk + gguf + ".weight", to, values, matrix: true)
            }
        }
        try add(LlamaTensorNames.finalNorm.gguf, [d], model.finalNorm, matrix: false)
        if let head = model.lmHead {
            try add(LlamaTensorNames.head.gguf, [c.vocabSize, d], head, matrix: true)
        }
        return (w, summary)
    }
}
