import Evaluation
import LLM
import Pruning

/// Every setting of an unstructured / N:M prune run (`secateur prune`). Optional fields are
/// those whose default depends on the model or the method; a run's record holds them resolved.
public struct PruneSettings: Codable, Sendable, Equatable {
    public var method: PruneMethod = .wanda
    public var pattern: SparsityPattern = .unstructured
    /// Share of each comparison group's weights to remove (N:M patterns fix it at N/M).
    public var sparsity: Double = 0.5
    /// nil: layer for unstructured magnitude/random, row otherwise.
    public var group: ComparisonGroup?
    /// Sparsity of q, k, v, o and of gate, up, down; nil: `sparsity`.
    public var attentionSparsity: Double?
    public var mlpSparsity: Double?
    /// Projections to prune; nil: every projection the model has (the record holds them).
    public var matrices: [Projection]?
    /// Inclusive layer range; nil: every layer.
    public var layers: ClosedRange<Int>?
    /// RIA's activation exponent.
    public var alpha: Double = 0.5
    /// GBLM-Pruner's weight on the gradient term.
    public var gblmScale: Double = 100
    /// DSnoT: the method it starts from, its swap rounds, threshold and skipped projections.
    public var dsnotInitial: PruneMethod = .wanda
    public var dsnotCycles = 50
    public var dsnotThreshold = 0.1
    public var dsnotSkip: DSnoTSkip = .mlp
    /// DSnoT: stop a row where a swap would flip the sign of its error (nil: no, as the reference
    /// runs), and the power of the variance in the regrowth rank (nil: 1).
    public var dsnotSameSign: Bool?
    public var dsnotVariancePower: Double?
    /// Evolutionary mask search: the method it starts from, generations, seed, flip rate f₀, its
    /// per-generation decay and floor.
    public var esInitial = EvolutionarySearchSettings().initial
    public var generations = EvolutionarySearchSettings().generations
    public var esSeed = EvolutionarySearchSettings().seed
    public var esRate = EvolutionarySearchSettings().flipRate
    public var esRateDecay = EvolutionarySearchSettings().rateDecay
    public var esRateFloor = EvolutionarySearchSettings().rateFloor
    public var esHeldOut = EvolutionarySearchSettings().heldOutShare
    /// Generations of the whole-model search after the layer-wise one (nil: none).
    public var esModelGenerations: Int?
    public var allocation: SparsityAllocation = .uniform
    public var owlM: Double = 5
    /// allocation evopress: generations, offspring per generation, sparsity step, largest deviation from
    /// `sparsity`, held-out calibration windows (the allocation search's seed is `seed`).
    public var evopressGenerations = AllocationSearchSettings().generations
    public var evopressOffspring = AllocationSearchSettings().offspring
    public var evopressStep = AllocationSearchSettings().step
    public var evopressMaxDeviation = AllocationSearchSettings().maxDeviation
    public var evopressWindows = AllocationSearchSettings().heldOutWindows
    public var owlLambda: Double = 0.08
    public var ties: TieBreak = .position
    public var permute = false
    public var order: PruneOrder = .reference
    /// Calibration windows and their length.
    public var nsamples = 128
    public var seqlen = 2048
    public var seed: UInt64 = 0
    public var calibration: CalibrationSource = .dataset(.c4)
    /// Perplexity before and after; nil: none.
    public var evaluation: PruneEvaluationSettings?
    /// Directory the pruned model (and pruning.json) is written to; nil: not saved.
    public var output: String?
    public var dataDirectory: String?
    public var threads: Int?
    /// Blocks streamed from the checkpoint one at a time, the pruned model written block by
    /// block (needs `output`); nil: the whole model in memory.
    public var stream: Bool?
    /// Bytes the run may use; its memory plan above this is refused before any work. nil: what the
    /// machine has less a margin (`MemoryBudget.default`).
    public var memoryBudget: Int?

    public init() {}

    /// The configuration the layer-wise pruner takes.
    public var configuration: PruneConfiguration {
        var c = PruneConfiguration(method: method, pattern: pattern, sparsity: sparsity, group: group,
                                   attentionSparsity: attentionSparsity, mlpSparsity: mlpSparsity,
                                   matrices: matrices ?? Projection.allCases, layers: layers, alpha: alpha, seed: seed)
        c.permute = permute
        c.ties = ties
        c.allocation = allocation
        c.owlM = owlM
        c.allocationSearch.generations = evopressGenerations
        c.allocationSearch.offspring = evopressOffspring
        c.allocationSearch.step = evopressStep
        c.allocationSearch.maxDeviation = evopressMaxDeviation
        c.allocationSearch.heldOutWindows = evopressWindows
        c.allocationSearch.seed = seed
        c.owlLambda = owlLambda
        c.order = order
        c.gblmScale = gblmScale
        c.dsnot.initial = dsnotInitial
        c.dsnot.maxCycles = dsnotCycles
        c.dsnot.updateThreshold = dsnotThreshold
        c.dsnot.skip = dsnotSkip
        c.dsnot.sameSign = dsnotSameSign ?? DSnoTSettings().sameSign
        c.dsnot.varianceExponent = dsnotVariancePower ?? DSnoTSettings().varianceExponent
        c.es.initial = esInitial
        c.es.generations = generations
        c.es.seed = esSeed
        c.es.flipRate = esRate
        c.es.rateDecay = esRateDecay
        c.es.rateFloor = esRateFloor
        c.es.heldOutShare = esHeldOut
        c.es.modelGenerations = esModelGenerations ?? 0
        return c
    }

    /// Whether the run needs calibration windows at all.
    public var needsCalibration: Bool { method.needsCalibration || allocation != .uniform }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case method, pattern, sparsity, group, attentionSparsity = "attn_sparsity", mlpSparsity = "mlp_sparsity"
        case matrices, layers, alpha, gblmScale = "gblm_scale",
             dsnotInitial = "dsnot_init", dsnotCycles = "dsnot_cycles", dsnotThreshold = "dsnot_threshold", dsnotSkip = "dsnot_skip",
             dsnotSameSign = "dsnot_same_sign", dsnotVariancePower = "dsnot_variance_power",
             esInitial = "es_init", generations, esSeed = "es_seed", esRate = "es_rate", esRateDecay = "es_rate_decay", esRateFloor = "es_rate_floor", esHeldOut = "es_held_out", esModelGenerations = "es_model_generations",
             allocation, owlM = "owl_m", owlLambda = "owl_lambda",
             evopressGenerations = "evopress_generations", evopressOffspring = "evopress_offspring", evopressStep = "evopress_step",
             evopressMaxDeviation = "evopress_max_deviation", evopressWindows = "evopress_windows", ties, permute, order
        case nsamples, seqlen, seed, calibration, evaluation = "eval", output, dataDirectory = "data_dir", threads, stream, memoryBudget = "memory_budget"
    }
}

