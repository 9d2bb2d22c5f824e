import ArgumentParser
import Evaluation
import Experiments
import Foundation
import LLM
import Pruning

struct Prune: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Post-training pruning: magnitude, Wanda, SparseGPT, RIA, random — unstructured or N:M.",
        discussion: "Layer by layer in the reference order of the Wanda/SparseGPT code. Writes a model directory that --model loads, with pruning.json (the run record).")

    @OptionGroup var options: ModelOptions
    @Option(help: "Unstructured: magnitude, wanda, sparsegpt, ria, random, gradient, taylor, gblm, entropy, dsnot or es; with --structured: taylor, l1, l2, random, bonsai or l0.") var method: PruneMethodChoice = .wanda
    @Option(help: "Fraction of each comparison group's weights to remove, in [0, 1).") var sparsity: Double = 0.5
    @Option(help: "unstructured, or N:M (N zeros in every M consecutive inputs), e.g. 2:4.") var pattern: SparsityPattern = .unstructured
    @Option(help: "Comparison group for unstructured (default: row for wanda/ria, layer for magnitude/random).") var group: ComparisonGroup?
    @Option(name: .customLong("attn-sparsity"), help: "Sparsity of q, k, v, o (default --sparsity).") var attnSparsity: Double?
    @Option(name: .customLong("mlp-sparsity"), help: "Sparsity of gate, up, down (default --sparsity).") var mlpSparsity: Double?
    @Option(help: "Projections to prune, e.g. q,k,v,o,gate,up,down (default: every projection of the model).") var matrices: ProjectionListArgument?
    @Option(help: "Layers to prune, inclusive range a-b (default all).") var layers: LayerRangeArgument?
    @Option(help: "RIA's activation exponent.") var alpha: Double = 0.5
    @Option(help: "GBLM's weight on the gradient term (its reference's --scale).") var gblmScale: Double = 100
    @Option(help: "DSnoT: the method whose mask it refines.") var dsnotInit: PruneMethod = .wanda
    @Option(help: "DSnoT: swap rounds per row.") var dsnotCycles: Int = 50
    @Option(help: "DSnoT: a row stops once its expected reconstruction error is at most this.") var dsnotThreshold: Double = 0.1
    @Option(help: "DSnoT: projections left with the initial mask (none, mlp, attention).") var dsnotSkip: DSnoTSkip = .mlp
    @Flag(help: "DSnoT: stop a row where a swap would flip the sign of its error (the reference's --without_same_sign False).") var dsnotSameSign = false
    @Option(help: "DSnoT: power of the input variance in the regrowth rank (the reference's --pow_of_var_regrowing).") var dsnotVariancePower: Double = 1
    @Option(help: "es: the method whose mask the search starts from (wanda, ria, magnitude, entropy, random or sparsegpt).") var esInit: PruneMethod = EvolutionarySearchSettings().initial
    @Option(help: "es: generations of the (1+1) mask search per matrix.") var generations: Int = EvolutionarySearchSettings().generations
    @Option(help: "es: seed of the mutations.") var esSeed: UInt64 = EvolutionarySearchSettings().seed
    @Option(help: "es: expected share of a group's weights flipped each way in the first generation.") var esRate: Double = EvolutionarySearchSettings().flipRate
    @Option(help: "es: the flip rate's factor per generation.") var esRateDecay: Double = EvolutionarySearchSettings().rateDecay
    @Option(help: "es: the flip rate's floor.") var esRateFloor: Double = EvolutionarySearchSettings().rateFloor
    @Option(help: "es: share of the calibration windows held out (the last ones); a child must not be worse on them either. 0: none.") var esHeldOut: Double = EvolutionarySearchSettings().heldOutShare
    @Option(help: "es: generations of the whole-model search after the layer-wise one (fitness: calibration loss of the whole model; one matrix mutated per generation). 0: none.") var esModelGenerations: Int = 0
    @Option(help: "Layer-wise sparsity: uniform, owl (outlier-weighted) or evopress (searched on held-out calibration loss); overall sparsity stays --sparsity.") var allocation: SparsityAllocation = .uniform
    @Option(help: "allocation evopress: generations of the (1+λ) search.") var evopressGenerations: Int = AllocationSearchSettings().generations
    @Option(help: "allocation evopress: offspring per generation.") var evopressOffspring: Int = AllocationSearchSettings().offspring
    @Option(help: "allocation evopress: sparsity moved between two layers by one mutation.") var evopressStep: Double = AllocationSearchSettings().step
    @Option(help: "allocation evopress: largest distance of a layer's sparsity from --sparsity.") var evopressMaxDeviation: Double = AllocationSearchSettings().maxDeviation
    @Option(help: "allocation evopress: calibration windows held out for the fitness (the last ones).") var evopressWindows: Int = AllocationSearchSettings().heldOutWindows
    @Option(name: .customLong("owl-m"), help: "OWL outlier threshold M.") var owlM: Double = 5
    @Option(name: .customLong("owl-lambda"), help: "OWL λ: layer sparsities within sparsity ± λ.") var owlLambda: Double = 0.08
    @Option(help: "N:M only: which of equal scores is pruned: position (earlier first) or torch (as torch.topk on CPU, to reproduce the reference code's masks).") var ties: TieBreak = .position
    @Flag(help: "N:M only: RIA's channel permutation (heuristic allocation + Hungarian refinement) before choosing groups.") var permute = false
    @Option(help: "Calibration windows.") var nsamples: Int = 128
    @Option(help: "Calibration window length in tokens.") var seqlen: Int = 2048
    @Option(help: "Seed for calibration sampling and random pruning.") var seed: UInt64 = 0
    @Option(help: "Calibration text: c4 (train shard), wikitext2 (needs wikitext2/wiki.train.raw in the data folder) or bookcorpus (bookcorpus/book10k.txt).") var calib: CalibrationDataset = .c4
    @Option(help: "reference (each layer's statistics from its dense forward, then a pruned forward, as the Wanda/SparseGPT code) or one-pass (each projection's statistics after the projections before it are pruned; one forward per layer).") var order: PruneOrder = .reference
    @Option(name: .customLong("calib-tokens"), help: "Read calibration windows from a file of int32 token ids (N × seqlen) instead.") var calibTokens: String?
    @Option(help: "Write the pruned model to this directory.") var output: String?
    @Flag(help: "Stream the blocks from the checkpoint one at a time and write each pruned block as it is done (models larger than memory; needs --output; Llama family; not with --group global or --allocation owl).") var stream = false
    @Option(name: .customLong("memory-budget"), help: "Memory the run may use, e.g. 12G (K/M/G/T are powers of 1024; default: the machine's memory less 10 %). A run whose memory plan exceeds it is refused before any work.") var memoryBudget: MemoryAmount?
    @Option(help: "Evaluate perplexity before and after on this dataset (wikitext2, ptb or c4).") var eval: PerplexityDataset?
    @Option(name: .customLong("eval-protocol"), help: "Perplexity protocol for --eval: wanda or llm-pruner.") var evalProtocol: PerplexityProtocol = .wanda
    @Option(name: .customLong("eval-seqlen"), help: "Perplexity window length for --eval (default: the protocol's, 2048 for wanda).") var evalSeqlen: Int?
    @Option(help: "Perplexity windows for --eval.") var windows: Int = 16
    @Option(help: "Data folder (default $SECATEUR_DATA, else $SECATEUR_HOME/data).") var dataDir: String?
    @Flag(help: "Print the run record as one JSON object on stdout.") var json = false
    @OptionGroup(title: "Structured pruning") var structuredOptions: StructuredPruneOptions

    func validate() throws {
        if windows < 1 { throw ValidationError("--windows must be at least 1") }
        if let s = evalSeqlen, s < 2 { throw ValidationError("--eval-seqlen must be at least 2") }
        if structuredOptions.structured { return try validateStructured() }
        _ = try unstructuredMethod
        if nsamples < 1 { throw ValidationError("--nsamples must be at least 1") }
        if seqlen < 2 { throw ValidationError("--seqlen must be at least 2") }
    }

    var unstructuredMethod: PruneMethod {
        get throws {
            guard let m = method.unstructured else {
                throw ValidationError("method '\(method.rawValue)' is structured; add --structured, or use one of \(PruneMethod.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            return m
        }
    }

    var calibrationSource: CalibrationSource { calibTokens.map { .tokenFile($0) } ?? .dataset(calib) }

    var evaluation: PruneEvaluationSettings? {
        eval.map { PruneEvaluationSettings(dataset: $0, protocol: evalProtocol, seqlen: evalSeqlen, windows: windows) }
    }

    func run() throws {
        if structuredOptions.structured { return try runStructured() }
        var s = PruneSettings()
        s.method = try unstructuredMethod
        s.pattern = pattern; s.sparsity = sparsity; s.group = group
        s.attentionSparsity = attnSparsity; s.mlpSparsity = mlpSparsity
        s.matrices = matrices?.projections; s.layers = layers?.range; s.alpha = alpha; s.gblmScale = gblmScale
        s.dsnotInitial = dsnotInit; s.dsnotCycles = dsnotCycles; s.dsnotThreshold = dsnotThreshold; s.dsnotSkip = dsnotSkip
        s.dsnotSameSign = dsnotSameSign ? true : nil
        s.dsnotVariancePower = dsnotVariancePower != DSnoTSettings().varianceExponent ? dsnotVariancePower : nil
        s.esInitial = esInit; s.generations = generations; s.esSeed = esSeed
        s.esModelGenerations = esModelGenerations != 0 ? esModelGenerations : nil
        s.esRate = esRate; s.esRateDecay = esRateDecay; s.esRateFloor = esRateFloor; s.esHeldOut = esHeldOut
        s.allocation = allocation; s.owlM = owlM; s.owlLambda = owlLambda
        s.evopressGenerations = evopressGenerations; s.evopressOffspring = evopressOffspring; s.evopressStep = evopressStep
        s.evopressMaxDeviation = evopressMaxDeviation; s.evopressWindows = evopressWindows
        s.ties = ties; s.permute = permute; s.order = order
        s.nsamples = nsamples; s.seqlen = seqlen; s.seed = seed; s.calibration = calibrationSource
        s.evaluation = evaluation; s.output = output; s.dataDirectory = dataDir; s.threads = options.threads
        s.stream = stream ? true : nil
        s.memoryBudget = memoryBudget?.bytes

        let record = try PruneRun(settings: s).run(modelSpec: options.model, progress: ProgressPrinter().handler)
        if json { return try Terminal.printRecord(record) }
        guard case .prune(let r) = record.result, case .prune(let resolved) = record.settings else { return }
        print(String(format: "%@ %@ %.1f%%: achieved %.4f over the pruned matrices (%.4f of all parameters), %.1f s",
                     resolved.method.rawValue, resolved.pattern.description, resolved.sparsity * 100, r.sparsityAchieved,
                     r.modelSparsity, r.seconds))
        PerplexityLine.print(record.metrics)
    }
}

/// "wikitext2 perplexity (16 windows of 2048, wanda protocol): dense 20.1 → pruned 31.2".
enum PerplexityLine {
    static func print(_ metrics: RunMetrics) {
        guard let d = metrics.perplexity.first(where: { $0.stage == .dense }),
              let p = metrics.perplexity.first(where: { $0.stage == .pruned }) else { return }
        Swift.print(String(format: "%@ perplexity (%d windows of %d, %@ protocol): dense %.4f → pruned %.4f",
                           d.dataset, d.windows, d.seqlen, d.protocol, d.value, p.value))
    }
}
