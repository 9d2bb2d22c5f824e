import ArgumentParser
import Experiments
import Pruning

/// `secateur prune --structured …`: LLM-Pruner-style structured pruning that lands on the
/// requested size. Parsing and printing only; `StructuredPruneRun` (Experiments) does the work.
struct StructuredPruneOptions: ParsableArguments {
    @Flag(help: "Structured pruning (LLM-Pruner style): remove attention groups, MLP channels, hidden channels or whole layers; the model physically shrinks.")
    var structured = false
    @Option(help: "Structured: share of the whole model's parameters to remove, embeddings included (with --ratio-mode layer: LLM-Pruner's per-layer ratio).")
    var ratio: Double?
    @Option(help: "Structured: block (attention groups + MLP channels in --attn-layers/--mlp-layers), channel (hidden channels, whole model) or layer (drop whole layers).")
    var mode: StructuredMode = .block
    @Option(name: .customLong("ratio-mode"), help: "Structured: model (whole-model parameter ratio, within 0.5 points) or layer (LLM-Pruner's per-layer meaning).")
    var ratioMode: RatioMode = .model
    @Option(name: .customLong("attn-layers"), help: "Structured: attention layers to prune, inclusive a-b (default --layers, else LLM-Pruner's 4..<30 of 32 scaled: 4-27 for 30 layers). In layer mode: the droppable layers (default all).")
    var attnLayers: LayerRangeArgument?
    @Option(name: .customLong("mlp-layers"), help: "Structured: MLP layers to prune, inclusive a-b (default as --attn-layers).")
    var mlpLayers: LayerRangeArgument?
    @Option(help: "Structured, --method taylor: first, second, mix (LLM-Pruner's param_first/param_second/param_mix) or vectorize.")
    var taylor: TaylorOrder = .first
    @Option(help: "Structured: how a group's tensors' scores combine: sum, mean, max or product.")
    var aggregation: GroupAggregation = .sum
    @Option(name: .customLong("layer-score"), help: "Structured, --mode layer: bi (ShortGPT Block Influence) or loss (calibration loss increase).")
    var layerScore: LayerScore = .blockInfluence
    @Option(name: .customLong("bonsai-masks"), help: "Structured, --method bonsai: sub-models evaluated per round (Bonsai: 200).")
    var bonsaiMasks: Int?
    @Option(name: .customLong("bonsai-round"), help: "Structured, --method bonsai: share of the model removed per round (Bonsai: 0.05).")
    var bonsaiRound: Double?
    @Option(name: .customLong("l0-steps"), help: "Structured, --method l0: gate-learning steps, one calibration window each (default 100).")
    var l0Steps: Int?
    @Option(name: .customLong("l0-lr"), help: "Structured, --method l0: Adam's step size for the gates (default 0.1).")
    var l0LearningRate: Double?
    @Option(name: .customLong("l0-target"), help: "Structured, --method l0: prune to this shape instead of --ratio (Sheared LLaMA), e.g. layers=24,hidden=512,kv_heads=2,intermediate=1024; a key left out keeps the model's.")
    var l0Target: String?
    @Option(name: .customLong("l0-lora-rank"), help: "Structured, --method l0: train LoRA adapters of this rank on q,k,v,gate,up with the gates (default: weights frozen).")
    var l0LoRARank: Int?
    @Option(name: .customLong("l0-lora-lr"), help: "Structured, --method l0 with --l0-lora-rank: AdamW's rate for the adapters (default 1e-3).")
    var l0LoRALearningRate: Double?
    @Option(name: .customLong("calib-windows"), help: "Structured: calibration windows for Taylor gradients, layer scores, Bonsai's sub-models and L0's gates (LLM-Pruner: 10).")
    var calibWindows: Int = 10
    @Option(name: .customLong("calib-seqlen"), help: "Structured: calibration window length (LLM-Pruner: 64).")
    var calibSeqlen: Int = 64
}

extension Prune {
    var structuredCriterion: StructuredCriterion {
        get throws {
            guard let c = method.structured else {
                throw ValidationError("unknown structured method '\(method.rawValue)'; use taylor, l1, l2, random, bonsai or l0")
            }
            return c
        }
    }

    /// `--l0-target`, parsed by the library.
    var targetShape: L0TargetShape? {
        get throws {
            do { return try structuredOptions.l0Target.map(L0TargetShape.init(parsing:)) } catch { throw ValidationError("--l0-target: \(error)") }
        }
    }

    func validateStructured() throws {
        let s = structuredOptions
        if s.l0Target != nil {
            _ = try targetShape
            guard s.ratio == nil else { throw ValidationError("--l0-target sets the size; leave out --ratio") }
            guard (try? structuredCriterion) == .l0 else { throw ValidationError("--l0-target is for --method l0") }
        } else {
            guard let r = s.ratio else { throw ValidationError("--structured needs --ratio r (share of the model's parameters to remove) or, with --method l0, --l0-target") }
            guard r > 0 && r < 1 else { throw ValidationError("--ratio must be in (0, 1), got \(r)") }
        }
        _ = try structuredCriterion
        if s.calibWindows < 1 { throw ValidationError("--calib-windows must be at least 1") }
        if s.calibSeqlen < 2 { throw ValidationError("--calib-seqlen must be at least 2") }
    }

    func runStructured() throws {
        let o = structuredOptions
        var s = StructuredPruneSettings()
        s.criterion = try structuredCriterion
        s.mode = o.mode
        s.l0Target = try targetShape
        if s.l0Target == nil {
            guard let ratio = o.ratio else { throw ValidationError("--structured needs --ratio r") }
            s.ratio = ratio
        }
        s.ratioMode = o.ratioMode
        s.attentionLayers = o.attnLayers?.range ?? layers?.range
        s.mlpLayers = o.mlpLayers?.range ?? s.attentionLayers
        s.taylorOrder = o.taylor; s.aggregation = o.aggregation; s.layerScore = o.layerScore
        s.bonsaiMasks = o.bonsaiMasks; s.bonsaiRoundFraction = o.bonsaiRound
        s.l0Steps = o.l0Steps; s.l0LearningRate = o.l0LearningRate
        s.l0LoRARank = o.l0LoRARank; s.l0LoRALearningRate = o.l0LoRALearningRate
        s.calibrationWindows = o.calibWindows; s.calibrationSeqlen = o.calibSeqlen
        s.calibration = calibrationSource; s.seed = seed
        s.evaluation = evaluation; s.output = output; s.dataDirectory = dataDir; s.threads = options.threads
        s.memoryBudget = memoryBudget?.bytes
        s.stream = stream ? true : nil

        let record = try StructuredPruneRun(settings: s).run(modelSpec: options.model, progress: ProgressPrinter().handler)
        if json { return try Terminal.printRecord(record) }
        guard case .pruneStructured(let result) = record.result else { return }
        let r = result.report
        print(String(format: "structured %@ (%@, ratio-mode %@): requested %.2f %%, actual %.2f %% — %ld → %ld parameters, %.1f s",
                     r.method, r.mode, r.ratioMode, r.ratioRequested * 100, r.ratioActual * 100, r.paramsBefore, r.paramsAfter, r.seconds))
        PerplexityLine.print(record.metrics)
    }
}
