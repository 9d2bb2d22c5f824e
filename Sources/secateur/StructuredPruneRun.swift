import ArgumentParser
import Compute
import Evaluation
import Foundation
import LLM
import ModelIO
import Pruning

/// `secateur prune --structured …`: LLM-Pruner-style structured pruning that lands on the
/// requested size. Parsing and printing only; `StructuredPruner` does the work.
struct StructuredPruneOptions: ParsableArguments {
    @Flag(help: "Structured pruning (LLM-Pruner style): remove attention groups, MLP channels, hidden channels or whole layers; the model physically shrinks.")
    var structured = false
    @Option(help: "Structured: share of the whole model's parameters to remove, embeddings included (with --ratio-mode layer: LLM-Pruner's per-layer ratio).")
    var ratio: Double?
    @Option(help: "Structured: block (attention groups + MLP channels in --attn-layers/--mlp-layers), channel (hidden channels, whole model) or layer (drop whole layers).")
    var mode: String = "block"
    @Option(name: .customLong("ratio-mode"), help: "Structured: model (whole-model parameter ratio, within 0.5 points) or layer (LLM-Pruner's per-layer meaning).")
    var ratioMode: String = "model"
    @Option(name: .customLong("attn-layers"), help: "Structured: attention layers to prune, inclusive a-b (default --layers, else LLM-Pruner's 4..<30 of 32 scaled: 4-27 for 30 layers). In layer mode: the droppable layers (default all).")
    var attnLayers: String?
    @Option(name: .customLong("mlp-layers"), help: "Structured: MLP layers to prune, inclusive a-b (default as --attn-layers).")
    var mlpLayers: String?
    @Option(help: "Structured, --method taylor: first, second, mix (LLM-Pruner's param_first/param_second/param_mix) or vectorize.")
    var taylor: String = "first"
    @Option(help: "Structured: how a group's tensors' scores combine: sum, mean, max or product.")
    var aggregation: String = "sum"
    @Option(name: .customLong("layer-score"), help: "Structured, --mode layer: bi (ShortGPT Block Influence) or loss (calibration loss increase).")
    var layerScore: String = "bi"
    @Option(name: .customLong("calib-windows"), help: "Structured: calibration windows for Taylor gradients and layer scores (LLM-Pruner: 10).")
    var calibWindows: Int = 10
    @Option(name: .customLong("calib-seqlen"), help: "Structured: calibration window length (LLM-Pruner: 64).")
    var calibSeqlen: Int = 64
}

/// Gradient statistics for `--method taylor`: one backward pass per calibration window (the
/// gradient of that window's mean next-token loss), averaged, plus Σ g²/N for the second-order
/// term, as LLM-Pruner does.
let structuredTaylorProvider: TaylorStatisticsProvider? = { model, windows in
    try TaylorStatistics.collect(model: model, windows: windows, withFisher: true) { m, w in try m.gradients(tokens: w).gradients }
}

struct StructuredPruneSummary: Encodable {
    var model: String
    var method: String
    var mode: String
    var ratio_mode: String
    var ratio_requested: Double
    var ratio_actual: Double
    var params_before: Int
    var params_after: Int
    var weight_bytes_before: Int
    var weight_bytes_after: Int
    var attn_layers: String?
    var mlp_layers: String?
    var hidden_size: Int
    var heads: [Int]
    var kv_heads: [Int]
    var intermediate_sizes: [Int]
    var dropped_layers: [Int]
    var seed: UInt64
    var seconds: Double
    var ppl_dense: Double?
    var ppl_pruned: Double?
    var eval_dataset: String?
    var eval_windows: Int?
    var output: String?
}

extension Prune {
    func validateStructured() throws {
        let s = structuredOptions
        guard let r = s.ratio else { throw ValidationError("--structured needs --ratio r (share of the model's parameters to remove)") }
        guard r > 0 && r < 1 else { throw ValidationError("--ratio must be in (0, 1), got \(r)") }
        guard StructuredCriterion(rawValue: method) != nil else {
            throw ValidationError("unknown structured method '\(method)'; use taylor, l1, l2 or random")
        }
        guard StructuredMode(rawValue: s.mode) != nil else { throw ValidationError("unknown --mode '\(s.mode)'; use block, channel or layer") }
        guard RatioMode(rawValue: s.ratioMode) != nil else { throw ValidationError("unknown --ratio-mode '\(s.ratioMode)'; use model or layer") }
        guard TaylorOrder(rawValue: s.taylor) != nil else { throw ValidationError("unknown --taylor '\(s.taylor)'; use first, second, mix or vectorize") }
        guard GroupAggregation(rawValue: s.aggregation) != nil else {
            throw ValidationError("unknown --aggregation '\(s.aggregation)'; use sum, mean, max or product")
        }
        guard LayerScore(rawValue: s.layerScore) != nil else { throw ValidationError("unknown --layer-score '\(s.layerScore)'; use bi or loss") }
        if s.calibWindows < 1 { throw ValidationError("--calib-windows must be at least 1") }
        if s.calibSeqlen < 2 { throw ValidationError("--calib-seqlen must be at least 2") }
        if windows < 1 { throw ValidationError("--windows must be at least 1") }
    }

    func runStructured() throws {
        if let t = options.threads { Parallelism.setThreads(t) }
        let s = structuredOptions
        let mode = StructuredMode(rawValue: s.mode)!
        let criterion = StructuredCriterion(rawValue: method)!
        if criterion == .taylor && mode != .layer && structuredTaylorProvider == nil {
            throw StructuredPruningError.gradientsUnavailable
        }
        func range(_ text: String?) throws -> ClosedRange<Int>? {
            try text.map { t in
                do { return try PruneConfiguration.parseLayers(t) } catch { throw ValidationError("'\(t)' is not a layer range like 4-27") }
            }
        }
        let shared = try range(layers)
        let attn = try range(s.attnLayers) ?? shared
        let config = StructuredPruneConfiguration(
            criterion: criterion, mode: mode, ratio: s.ratio!, ratioMode: RatioMode(rawValue: s.ratioMode)!,
            attentionLayers: attn, mlpLayers: try range(s.mlpLayers) ?? attn,
            taylorOrder: TaylorOrder(rawValue: s.taylor)!, aggregation: GroupAggregation(rawValue: s.aggregation)!,
            layerScore: LayerScore(rawValue: s.layerScore)!, seed: seed)
        let loaded = try ModelLoader.load(options.model)
        try config.validate(layerCount: loaded.model.layerCount)
        let data = DataDirectory(explicit: dataDir)

        let evaluation = try eval.map { try PruneEvaluation(dataset: $0, limit: windows, loaded: loaded, data: data) }
        let pplDense = try evaluation?.perplexity(of: loaded.model, label: "dense")

        // Calibration: LLM-Pruner uses 10 BookCorpus sequences of 64 tokens; BookCorpus is not in
        // the data folder, so the windows come from the C4 train shard (or --calib-tokens).
        var calibration: [[Int32]] = []
        var source: String?
        if (criterion == .taylor && mode != .layer) || mode == .layer {
            if let file = calibTokens {
                calibration = try Calibration.fromTokenFile(file, seqlen: s.calibSeqlen, nsamples: s.calibWindows,
                                                            vocabSize: loaded.model.vocabSize)
                source = file
            } else {
                let f = try data.file("c4/c4-train.00000-of-01024.first1000.jsonl", hint: "C4 train shard for calibration")
                calibration = try Calibration.sample(documents: try JSONLines.texts(f, field: "text"), tokenizer: loaded.tokenizer,
                                                     nsamples: s.calibWindows, seqlen: s.calibSeqlen, seed: seed)
                source = "c4 train shard 00000 (first 1000 documents), seed \(seed)"
            }
        }

        let result = try StructuredPruner.prune(loaded.model, configuration: config, calibration: calibration,
                                                calibrationSource: source, taylor: structuredTaylorProvider)
        let r = result.report
        Terminal.err(String(format: "removed %.2f %% of %d parameters (requested %.2f %%), %.1f s",
                            r.ratioActual * 100, r.paramsBefore, r.ratioRequested * 100, r.seconds))

        let pplPruned = try evaluation?.perplexity(of: result.model, label: "pruned")
        if let out = output {
            try ModelWriter.save(result.model, source: loaded.location, to: out)
            let enc = JSONEncoder(); enc.outputFormatting = [.prettyPrinted, .sortedKeys]
            try enc.encode(r).write(to: URL(fileURLWithPath: out).appendingPathComponent("pruning.json"), options: .atomic)
            Terminal.err("wrote \(out)")
        }

        let summary = StructuredPruneSummary(
            model: loaded.name, method: r.method, mode: r.mode, ratio_mode: r.ratioMode, ratio_requested: r.ratioRequested,
            ratio_actual: r.ratioActual, params_before: r.paramsBefore, params_after: r.paramsAfter,
            weight_bytes_before: r.weightBytesBefore, weight_bytes_after: r.weightBytesAfter,
            attn_layers: r.attentionLayers, mlp_layers: r.mlpLayers, hidden_size: r.hiddenSizeAfter, heads: r.heads,
            kv_heads: r.kvHeads, intermediate_sizes: r.intermediateSizes, dropped_layers: r.droppedLayers, seed: r.seed,
            seconds: r.seconds, ppl_dense: pplDense, ppl_pruned: pplPruned, eval_dataset: eval,
            eval_windows: eval == nil ? nil : windows, output: output)
        if json { try Terminal.printJSON(summary); return }
        print(String(format: "structured %@ (%@, ratio-mode %@): requested %.2f %%, actual %.2f %% — %d → %d parameters, %.1f s",
                     r.method, r.mode, r.ratioMode, r.ratioRequested * 100, r.ratioActual * 100, r.paramsBefore, r.paramsAfter, r.seconds))
        if let d = pplDense, let p = pplPruned, let ds = eval {
            print(String(format: "%@ perplexity (%d windows of 2048): dense %.4f → pruned %.4f", ds, windows, d, p))
        }
    }
}
