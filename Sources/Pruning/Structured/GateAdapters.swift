import Compute
import LLM

/// LoRA adapters trained beside L0's gates (`HardConcreteGates`): the low-rank stand-in, on a
/// CPU, for Sheared LLaMA's training of the weights together with its masks (Xia et al. 2024,
/// §2.1: the masks and the model are optimized jointly). The adapters sit on the projections
/// that read the residual stream (Llama's q, k, v, gate, up; OPT's q, k, v, fc1) and never on
/// o_proj or down_proj, whose weights the gates scale (`GatedWeights`). So a gate switches off
/// an adapter's effect exactly as it switches off the unit's weights, and the model cut to the
/// learned plan after merging is the gated model with its gates at 0/1:
///   a dropped KV group or MLP channel: its q/k/v (gate/up) rows, adapter delta included, go;
///   a dropped hidden channel: the residual stream is zero there, so A's column for it reads
///   zero and is cut with the column of W;
///   a dropped layer: its o_proj and down_proj write nothing, whatever q…up compute.
/// Each step: AdamW on the adapters (decoupled weight decay 0, global norm clipped to 1, a
/// constant rate), LoRA dropout seeded per step as in `Trainer`.
/// Adapters fit whatever text the gates see: on LLM-Pruner's 10 × 64 calibration tokens, cycled
/// ten times in 100 steps, they memorise it (SmolLM2-135M at 30 %: WikiText-2 677.7 against 129.5
/// frozen); on 100 × 128 tokens seen once they help (103.2 against 106.4). BENCHMARKS.md.
struct GateAdapters {
    let model: LanguageModel
    let trainable: TrainableParameters
    let configuration: LoRAConfiguration
    private var optimizer: AdamW
    /// The adapters' values, flat in `trainable`'s order: gathered once, scattered after each step.
    private var values: [Float]
    private let learningRate: Float
    private let seed: UInt64

    /// The projections that get an adapter: every one of the family's but o and down.
    static func targets(of model: LanguageModel) -> [Projection] {
        model.projections.filter { $0 != .o && $0 != .down }
    }

    /// Attaches fresh adapters (PEFT's initialisation) to `model`; `remove()` takes them off.
    init(model: LanguageModel, rank: Int, alpha: Float, dropout: Float, learningRate: Float, seed: UInt64) throws {
        guard learningRate > 0, learningRate.isFinite else {
            throw StructuredPruningError.invalidSetting("L0 with LoRA needs a positive adapter learning rate (got \(learningRate))")
        }
        let c = LoRAConfiguration(rank: rank, alpha: alpha, dropout: dropout, targets: Self.targets(of: model))
        try model.attachAdapters(c, seed: seed ^ 0x10_AD)
        self.model = model; configuration = c
        trainable = .adapters(of: model)
        optimizer = AdamW(settings: AdamWSettings(learningRate: learningRate, weightDecay: 0), parameterCount: trainable.count)
        values = trainable.gather(from: model)
        self.learningRate = learningRate; self.seed = seed
    }

    /// The adapters' tensors (their gradients go in the same buffer as the gated weights').
    var tensors: [ParameterTensor] { trainable.tensors }

    /// Fixes step `step`'s dropout masks.
    func beginStep(_ step: Int) {
        model.setAdapterDropoutSeed(seed &+ UInt64(step + 1) &* 0x2545_F491_4F6C_DD1D)
    }

    /// One AdamW step on the adapters from their gradients in `g`.
    mutating func step(_ g: ModelGradients) {
        model.setAdapterDropoutSeed(nil)
        var grads = [Float](); grads.reserveCapacity(trainable.count)
        for t in trainable.tensors { grads += g[t.name] }
        _ = grads.withUnsafeMutableBufferPointer { clipGradientNorm($0.baseAddress!, count: $0.count, maxNorm: 1) }
        optimizer.step(parameters: &values, gradients: grads, learningRate: learningRate)
        trainable.scatter(values, into: model)
    }

    /// The adapters as trained (by tensor name).
    func learned() -> LearnedAdapters {
        var tensors: [String: [Float]] = [:], shapes: [String: [Int]] = [:]
        for t in trainable.tensors {
            tensors[t.name] = model.withAdapterParameter(t.name) { $0 }
            shapes[t.name] = t.shape
        }
        return LearnedAdapters(configuration: configuration, tensors: tensors, shapes: shapes)
    }

    /// Takes every adapter off the model (which is then as it was before `init`).
    func remove() { model.detachAdapters() }
}

/// The adapters L0 trained with its gates, to merge into the model before it is cut.
public struct LearnedAdapters: Sendable, Equatable {
    public let configuration: LoRAConfiguration
    /// "<module>.lora_A.weight" [rank × in] and "<module>.lora_B.weight" [out × rank].
    let tensors: [String: [Float]]
    let shapes: [String: [Int]]

    /// Trainable values the adapters hold.
    public var parameterCount: Int { tensors.values.reduce(0) { $0 + $1.count } }

    /// Runs `body` on `model` with the adapters merged into its weights (W + mask ⊙ ΔW, so any
    /// zeros it had stay), then puts the original weights back.
    func merged<R>(into model: LanguageModel, _ body: () throws -> R) throws -> R {
        var originals: [(Projection, Int, Linear)] = []
        for i in 0..<model.layerCount {
            for p in configuration.targets { originals.append((p, i, model.linear(p, layer: i))) }
        }
        defer { for (p, i, l) in originals { model.setLinear(l, p, layer: i) } }
        try model.loadAdapters(configuration) { name in
            guard let v = tensors[name], let shape = shapes[name] else { return nil }
            return (shape, v)
        }
        model.mergeAdapters()
        return try body()
    }
}
