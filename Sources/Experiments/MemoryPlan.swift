import Foundation
import LLM
import Pruning

/// Peak memory a run will need, estimated from the model's shape and the run's settings before
/// anything large is read (DESIGN.md §11), as named parts: what is held at once at the run's
/// high-water mark. Weights are counted as the engine holds them (float32); the checkpoint's own
/// pages count while one tensor is being decoded; activations and statistics as the pipelines
/// allocate them (see `LayerwisePruner`, `ForwardScratch`, `SparseGPT`); writing adds nothing (the writers
/// convert in pieces).
/// The figures are upper estimates of the large allocations, not of allocator slack; BENCHMARKS.md
/// sets them beside measured peaks.
public struct MemoryPlan: Codable, Sendable, Equatable {
    public struct Part: Codable, Sendable, Equatable {
        public var name: String
        public var bytes: Int
    }
    public var parts: [Part]
    /// The budget the plan was checked against (`MemoryBudget.check`).
    public var budgetBytes: Int?

    init(parts: [Part]) { self.parts = parts }

    public var totalBytes: Int { parts.reduce(0) { $0 + $1.bytes } }

    /// The largest parts first, "name 1.23 GiB", for messages.
    public func largest(_ k: Int) -> String {
        parts.sorted { $0.bytes > $1.bytes }.prefix(k).map { "\($0.name) \(MemorySize.describe($0.bytes))" }.joined(separator: ", ")
    }

    mutating func add(_ name: String, _ bytes: Int) { if bytes > 0 { parts.append(Part(name: name, bytes: bytes)) } }

    /// Process baseline: code, runtime, BLAS thread buffers, tokenizer tables (measured on an
    /// idle `secateur` with a 49k-token tokenizer: ≈ 60 MB; rounded up).
    static func baseline(vocab: Int) -> Int { 96 << 20 + vocab * 512 }

    static let float = MemoryLayout<Float>.size

    // JSON (a run record's `memory_plan`): MiB like `peak_rss_mb`.
    enum CodingKeys: String, CodingKey { case estimateMegabytes = "estimate_mb", budgetMegabytes = "budget_mb", parts }
    struct PartJSON: Codable { var name: String; var mb: Double }
    static func mb(_ b: Int) -> Double { (Double(b) / 1_048_576 * 10).rounded() / 10 }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        parts = try c.decode([PartJSON].self, forKey: .parts).map { Part(name: $0.name, bytes: Int($0.mb * 1_048_576)) }
        budgetBytes = try c.decodeIfPresent(Double.self, forKey: .budgetMegabytes).map { Int($0 * 1_048_576) }
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(Self.mb(totalBytes), forKey: .estimateMegabytes)
        try c.encodeIfPresent(budgetBytes.map(Self.mb), forKey: .budgetMegabytes)
        try c.encode(parts.map { PartJSON(name: $0.name, mb: Self.mb($0.bytes)) }, forKey: .parts)
    }

    /// The weights the run holds: everything outside the blocks, and every block (in memory) or
    /// the largest one (streamed); plus the mapped pages of the largest tensor while it is decoded.
    mutating func addWeights(_ s: ModelShape, streamed: Bool) {
        add("process baseline", Self.baseline(vocab: s.vocabSize))
        add("embedding, final norm and head (float32)", s.nonBlockParameterCount * Self.float)
        if streamed {
            add("one block (float32)", s.largestBlockParameterCount * Self.float)
        } else {
            add("every block (float32)", (s.parameterCount - s.nonBlockParameterCount) * Self.float)
        }
        add("checkpoint pages of the tensor being decoded", Int((Double(s.largestTensorCount) * s.storedBytesPerValue).rounded(.up)))
    }

    /// One window's forward through a block: the hidden copy and `ForwardScratch`.
    static func forwardBytes(_ s: ModelShape, rows: Int) -> Int {
        rows * (2 * s.hiddenSize + scratchWidth(s)) * float
    }

    /// `ForwardScratch`'s width per row: normed, query, attention, gate, up, keys, values.
    static func scratchWidth(_ s: ModelShape) -> Int {
        let q = s.blocks.map(\.queryWidth).max() ?? 0, kv = s.blocks.map(\.kvWidth).max() ?? 0
        let inter = s.blocks.map(\.intermediateSize).max() ?? 0
        return s.hiddenSize + 2 * q + 2 * kv + 2 * inter
    }

    /// Perplexity windows: one window at a time in memory; layer-major (every window's hidden
    /// state at once) when streamed; the head's logits 128 rows at a time.
    mutating func addPerplexity(_ s: ModelShape, windows: Int, seqlen: Int, streamed: Bool) {
        if streamed { add("perplexity windows' hidden states", windows * seqlen * s.hiddenSize * Self.float) }
        add("perplexity forward of one window", Self.forwardBytes(s, rows: seqlen))
        add("logits of 128 positions", 128 * s.vocabSize * Self.float)
    }
}

extension MemoryPlan {
    /// `secateur prune` (unstructured / N:M, `LayerwisePruner`).
    public static func prune(_ s: ModelShape, settings: PruneSettings) -> MemoryPlan {
        let streamed = settings.stream == true
        var plan = MemoryPlan(parts: [])
        plan.addWeights(s, streamed: streamed)
        let f = float, rows = settings.seqlen, w = settings.nsamples
        let maxIn = s.blocks.map { max(s.hiddenSize, $0.queryWidth, $0.intermediateSize) }.max() ?? s.hiddenSize
        let maxMatrix = s.parameters.filter { if case .projection = $0.role { return true } else { return false } }.map(\.count).max() ?? 0

        let calibrated = settings.needsCalibration
        let onePass = settings.order == .onePass
        if calibrated {
            if onePass {
                // A cursor per window: its hidden state, the site it stopped at, its own scratch.
                plan.add("calibration windows' block state (one-pass)", w * rows * (s.hiddenSize + maxIn + scratchWidth(s)) * f)
            } else {
                plan.add("calibration hidden states", w * rows * s.hiddenSize * f)
                plan.add("forward of one calibration window", forwardBytes(s, rows: rows))
            }
        }
        if settings.method.needsGradients {
            // `CalibrationGradients`: the accumulator and one window's gradient, both model-sized,
            // and the whole model's activations of one window for its backward.
            let maxInter = s.blocks.map(\.intermediateSize).max() ?? 0
            plan.add("calibration gradients (2 model-sized)", 2 * s.parameterCount * f)
            plan.add("one window's activations for the backward",
                     s.blocks.count * rows * (4 * s.hiddenSize + scratchWidth(s) + maxInter) * f)
        }
        if settings.method == .sparsegpt {
            // Hessians 2XᵀX per input site (all of a block's sites at once in the reference
            // order, one at a time in one-pass), then per matrix the dampened copy, the inverse and
            // its Cholesky factor (`SparseGPT.prune`, `Cholesky.upperFactorOfInverse`).
            let sites = s.blocks.map { b in [s.hiddenSize, b.queryWidth, s.hiddenSize, b.intermediateSize].map { $0 * $0 } }
            let held = sites.map { onePass ? ($0.max() ?? 0) : $0.reduce(0, +) }.max() ?? 0
            plan.add("Hessians", held * f)
            plan.add("SparseGPT's dampened Hessian, inverse and factor", 3 * maxIn * maxIn * f)
        }
        if settings.allocation == .evopress {
            // `AllocationSearch`: every pruned matrix's dense copy and scores, and the packed forward of
            // the held-out windows (`meanNextTokenLoss`: the head's logits 128 rows at a time).
            let prunable = s.parameters.filter { if case .projection = $0.role { return true } else { return false } }.map(\.count).reduce(0, +)
            plan.add("allocation search (dense copies and scores of the pruned matrices)", 2 * prunable * f)
            plan.add("allocation search's forward of the held-out windows",
                     forwardBytes(s, rows: settings.evopressWindows * settings.seqlen) + 128 * s.vocabSize * f)
        }
        if settings.method == .es {
            // `EvolutionaryMaskSearch`: the Hessians as SparseGPT holds them (and SparseGPT's own
            // work when it is the start), per matrix H·Δᵀ in double, the guidance ranks, Δ and its
            // product in float32, the values kept and the initial mask.
            let sites = s.blocks.map { b in [s.hiddenSize, b.queryWidth, s.hiddenSize, b.intermediateSize].map { $0 * $0 } }
            let held = sites.map { onePass ? ($0.max() ?? 0) : $0.reduce(0, +) }.max() ?? 0
            plan.add("Hessians", held * f)
            if settings.esInitial == .sparsegpt { plan.add("SparseGPT's dampened Hessian, inverse and factor", 3 * maxIn * maxIn * f) }
            plan.add("mask search state (H·Δ in double, ranks, Δ, product, values, mask)", maxMatrix * (8 + 4 * f + 2))
        }
        // The matrix being pruned: a copy of it, its scores and its mask.
        plan.add("matrix being pruned (copy, scores, mask)", maxMatrix * (2 * f + 1))

        // Writing costs nothing beyond the weights: the writers convert in 64 Ki-value pieces.
        if let e = settings.evaluation {
            plan.addPerplexity(s, windows: e.windows, seqlen: e.seqlen ?? e.protocol.defaultSeqlen,
                               streamed: streamed)
            // A streamed run evaluates the pruned model from its output, whose embedding and head
            // are read while the source's are still held.
            if streamed { plan.add("written model's embedding and head (evaluation)", s.nonBlockParameterCount * f) }
        }
        return plan
    }

    /// `secateur eval ppl`.
    public static func perplexity(_ s: ModelShape, settings: PerplexitySettings, windows: Int? = nil) -> MemoryPlan {
        let streamed = settings.stream == true
        var plan = MemoryPlan(parts: [])
        plan.addWeights(s, streamed: streamed)
        if let e = settings.weights, e != .f32 {
            // Encoded copies of the block matrices beside the float32 ones (at most 2 bytes a value).
            plan.add("encoded weights", (s.parameterCount - s.nonBlockParameterCount) * (e == .bf16 || e == .f16 ? 2 : 1))
        }
        plan.addPerplexity(s, windows: settings.windows ?? windows ?? 1, seqlen: settings.resolvedSeqlen, streamed: streamed)
        return plan
    }

    /// `secateur prune --structured`. In memory, Taylor keeps the mean gradient, the per-window
    /// gradient and, for second-order terms, the Fisher diagonal, each model-sized, plus one
    /// window's activations for the backward; the smaller model is built beside the dense one.
    /// Streamed, those are one block's (`StructuredPruner.pruneStreamed`), plus every window's
    /// block inputs (the backward's checkpoints) and one pruned block being cut and written.
    public static func structuredPrune(_ s: ModelShape, settings: StructuredPruneSettings) -> MemoryPlan {
        let streamed = settings.stream == true
        var plan = MemoryPlan(parts: [])
        plan.addWeights(s, streamed: streamed)
        let f = float, p = s.parameterCount, block = s.largestBlockParameterCount
        let maxInter = s.blocks.map(\.intermediateSize).max() ?? 0
        if settings.criterion == .taylor && settings.mode != .layer {
            let copies = settings.taylorOrder.needsFisher ? 3 : 2
            let rows = settings.calibrationSeqlen, windows = settings.calibrationWindows
            if streamed {
                plan.add("gradients (\(copies) block-sized)", copies * block * f)
                plan.add("block inputs of every window (checkpoints)", windows * rows * s.hiddenSize * (s.blocks.count + 2) * f)
                plan.add("one window's block activations for the backward", rows * (4 * s.hiddenSize + scratchWidth(s) + maxInter) * f)
            } else {
                plan.add("gradients (\(copies) model-sized)", copies * p * f)
                plan.add("one window's activations for the backward",
                         s.blocks.count * rows * (4 * s.hiddenSize + scratchWidth(s) + maxInter) * f)
            }
        }
        if streamed {
            plan.add("pruned block being written (float32)", block * f)
        } else {
            plan.add("pruned model (at most the dense size)", p * f)
        }
        if let e = settings.evaluation {
            plan.addPerplexity(s, windows: e.windows, seqlen: e.seqlen ?? e.protocol.defaultSeqlen, streamed: streamed)
            if streamed { plan.add("written model's embedding and head (evaluation)", s.nonBlockParameterCount * f) }
        }
        return plan
    }
}
