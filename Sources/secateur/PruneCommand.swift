import ArgumentParser
import Compute
import Evaluation
import Foundation
import LLM
import ModelIO
import Pruning

struct Prune: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Post-training pruning: magnitude, Wanda, SparseGPT, RIA, random — unstructured or N:M.",
        discussion: "Layer by layer in the reference order of the Wanda/SparseGPT code. Writes a model directory that --model loads, with pruning.json.")

    @OptionGroup var options: ModelOptions
    @Option(help: "magnitude, wanda, sparsegpt, ria or random.") var method: String = "wanda"
    @Option(help: "Fraction of each comparison group's weights to remove, in [0, 1).") var sparsity: Double = 0.5
    @Option(help: "unstructured, or N:M (N zeros in every M consecutive inputs), e.g. 2:4.") var pattern: String = "unstructured"
    @Option(help: "Comparison group for unstructured: row, layer or global (default: row for wanda/ria, layer for magnitude/random).") var group: String?
    @Option(name: .customLong("attn-sparsity"), help: "Sparsity of q, k, v, o (default --sparsity).") var attnSparsity: Double?
    @Option(name: .customLong("mlp-sparsity"), help: "Sparsity of gate, up, down (default --sparsity).") var mlpSparsity: Double?
    @Option(help: "Projections to prune, e.g. q,k,v,o,gate,up,down.") var matrices: String = "q,k,v,o,gate,up,down"
    @Option(help: "Layers to prune, inclusive range a-b (default all).") var layers: String?
    @Option(help: "RIA's activation exponent.") var alpha: Double = 0.5
    @Option(help: "Layer-wise sparsity: uniform, or owl (outlier-weighted; overall sparsity stays --sparsity).") var allocation: String = "uniform"
    @Option(name: .customLong("owl-m"), help: "OWL outlier threshold M.") var owlM: Double = 5
    @Option(name: .customLong("owl-lambda"), help: "OWL λ: layer sparsities within sparsity ± λ.") var owlLambda: Double = 0.08
    @Option(help: "N:M only: which of equal scores is pruned: position (earlier first) or torch (as torch.topk on CPU, to reproduce the reference code's masks).") var ties: String = "position"
    @Flag(help: "N:M only: RIA's channel permutation (heuristic allocation + Hungarian refinement) before choosing groups.") var permute = false
    @Option(help: "Calibration windows.") var nsamples: Int = 128
    @Option(help: "Calibration window length in tokens.") var seqlen: Int = 2048
    @Option(help: "Seed for calibration sampling and random pruning.") var seed: UInt64 = 0
    @Option(help: "Calibration text: c4 (train shard) or wikitext2 (needs wikitext2/wiki.train.raw in the data folder).") var calib: String = "c4"
    @Option(help: "reference (each layer's statistics from its dense forward, then a pruned forward, as the Wanda/SparseGPT code) or one-pass (each projection's statistics after the projections before it are pruned; one forward per layer).") var order: String = "reference"
    @Option(name: .customLong("calib-tokens"), help: "Read calibration windows from a file of int32 token ids (N × seqlen) instead.") var calibTokens: String?
    @Option(help: "Write the pruned model to this directory.") var output: String?
    @Option(help: "Evaluate perplexity before and after on this dataset (wikitext2, ptb).") var eval: String?
    @Option(help: "Perplexity windows for --eval.") var windows: Int = 16
    @Option(help: "Data folder (default $SECATEUR_DATA, else $SECATEUR_HOME/data).") var dataDir: String?
    @Flag(help: "Print one JSON object on stdout.") var json = false
    @OptionGroup(title: "Structured pruning") var structuredOptions: StructuredPruneOptions

    func validate() throws {
        if structuredOptions.structured { return try validateStructured() }
        guard PruneMethod(rawValue: method) != nil else {
            throw ValidationError("unknown method '\(method)'; use magnitude, wanda, sparsegpt, ria or random")
        }
        if let g = group, ComparisonGroup(rawValue: g) == nil { throw ValidationError("unknown --group '\(g)'; use row, layer or global") }
        if nsamples < 1 { throw ValidationError("--nsamples must be at least 1") }
        if seqlen < 2 { throw ValidationError("--seqlen must be at least 2") }
        if windows < 1 { throw ValidationError("--windows must be at least 1") }
        if calib != "c4" && calib != "wikitext2" { throw ValidationError("--calib must be c4 or wikitext2") }
        if PruneOrder(rawValue: order) == nil { throw ValidationError("unknown --order '\(order)'; use reference or one-pass") }
    }

    func run() throws {
        if structuredOptions.structured { return try runStructured() }
        if let t = options.threads { Parallelism.setThreads(t) }
        let m = PruneMethod(rawValue: method)!
        var config = PruneConfiguration(
            method: m, pattern: try SparsityPattern(parsing: pattern), sparsity: sparsity,
            group: group.flatMap(ComparisonGroup.init(rawValue:)), attentionSparsity: attnSparsity, mlpSparsity: mlpSparsity,
            matrices: try PruneConfiguration.parseMatrices(matrices), layers: try layers.map(PruneConfiguration.parseLayers),
            alpha: alpha, seed: seed)
        config.permute = permute
        guard let tieBreak = TieBreak(rawValue: ties) else { throw ValidationError("--ties must be position or torch") }
        config.ties = tieBreak
        config.allocation = allocation
        config.owlM = owlM
        config.owlLambda = owlLambda
        config.order = PruneOrder(rawValue: order)!
        let loaded = try ModelLoader.load(options.model)
        try config.validate(layerCount: loaded.model.layerCount)
        let data = DataDirectory(explicit: dataDir)

        // Evaluation windows first, so a missing dataset fails before minutes of pruning.
        let evaluation = try eval.map { try PruneEvaluation(dataset: $0, limit: windows, loaded: loaded, data: data) }
        let pplDense = try evaluation?.perplexity(of: loaded.model, label: "dense")

        var calibration: [[Int32]] = []
        let calibStart = Date()
        if m.needsCalibration || allocation == "owl" {
            if let file = calibTokens {
                calibration = try Calibration.fromTokenFile(file, seqlen: seqlen, nsamples: nsamples, vocabSize: loaded.model.vocabSize)
            } else if calib == "c4" {
                let f = try data.file("c4/c4-train.00000-of-01024.first1000.jsonl", hint: "C4 train shard for calibration")
                let docs = try JSONLines.texts(f, field: "text")
                calibration = try Calibration.sample(documents: docs, tokenizer: loaded.tokenizer, nsamples: nsamples, seqlen: seqlen, seed: seed)
            } else {
                // Never the test split: calibrating on the evaluation text would flatter the result.
                let f = try data.file("wikitext2/wiki.train.raw", hint: "WikiText-2 train split for calibration (the test split is not used for calibration)")
                let rows = try String(contentsOf: f, encoding: .utf8).components(separatedBy: "\n")
                calibration = try Calibration.sample(stream: loaded.tokenizer.encode(rows.joined(separator: " ")),
                                                     nsamples: nsamples, seqlen: seqlen, seed: seed)
            }
            Terminal.err("calibration: \(calibration.count) windows × \(seqlen) tokens (\(String(format: "%.1f", Date().timeIntervalSince(calibStart))) s)")
        }

        let pruner = try LayerwisePruner(model: loaded.model, configuration: config)
        let pruneStart = Date()
        pruner.progress = { done, total in
            Terminal.err(String(format: "pruned layer %d/%d (%.0f s)", done, total, Date().timeIntervalSince(pruneStart)))
        }
        var report = try pruner.run(calibration: calibration)
        report.secondsByPhase["calibration_sampling"] = pruneStart.timeIntervalSince(calibStart)

        let pplPruned = try evaluation?.perplexity(of: loaded.model, label: "pruned")
        if let out = output {
            try ModelWriter.save(loaded.model, source: loaded.location, to: out)
            let enc = JSONEncoder(); enc.outputFormatting = [.prettyPrinted, .sortedKeys]
            try enc.encode(report).write(to: URL(fileURLWithPath: out).appendingPathComponent("pruning.json"), options: .atomic)
            Terminal.err("wrote \(out)")
        }

        let summary = PruneSummary(model: loaded.name, method: m.rawValue, pattern: config.pattern,
                                   sparsity_requested: config.sparsity, sparsity_achieved: report.sparsityAchieved,
                                   model_sparsity: report.modelSparsity, params_total: report.paramsTotal,
                                   params_nonzero: report.paramsNonzero, nsamples: report.nsamples, seqlen: report.seqlen,
                                   seconds: report.seconds, ppl_dense: pplDense, ppl_pruned: pplPruned,
                                   eval_dataset: eval, eval_windows: eval == nil ? nil : windows, output: output,
                                   order: config.order.rawValue, peak_rss_mb: report.peakResidentMegabytes)
        if json { try Terminal.printJSON(summary); return }
        print(String(format: "%@ %@ %.1f%%: achieved %.4f over the pruned matrices (%.4f of all parameters), %.1f s",
                     m.rawValue, config.pattern, config.sparsity * 100, report.sparsityAchieved, report.modelSparsity, report.seconds))
        if let d = pplDense, let p = pplPruned, let ds = eval {
            print(String(format: "%@ perplexity (%d windows of 2048): dense %.4f → pruned %.4f", ds, windows, d, p))
        }
    }
}

struct PruneSummary: Encodable {
    var model: String
    var method: String
    var pattern: String
    var sparsity_requested: Double
    var sparsity_achieved: Double
    var model_sparsity: Double
    var params_total: Int
    var params_nonzero: Int
    var nsamples: Int
    var seqlen: Int
    var seconds: Double
    var ppl_dense: Double?
    var ppl_pruned: Double?
    var eval_dataset: String?
    var eval_windows: Int?
    var output: String?
    var order: String
    var peak_rss_mb: Double?
}
