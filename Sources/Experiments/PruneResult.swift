import Pruning

/// Sparsity of one pruned matrix.
public struct MatrixSparsity: Codable, Sendable, Equatable {
    public var rows: Int
    public var cols: Int
    public var sparsityRequested: Double
    public var zeros: Int
    public var sparsity: Double

    enum CodingKeys: String, CodingKey { case rows, cols, sparsityRequested = "sparsity_requested", zeros, sparsity }
}

/// What an unstructured / N:M prune run did: the pruner's report in the record's spelling.
public struct PruneResult: Codable, Sendable, Equatable {
    /// Zeros over the selected matrices (pre-existing zeros included, DESIGN.md §5).
    public var sparsityAchieved: Double
    /// Zeros over every parameter of the model.
    public var modelSparsity: Double
    public var prunableWeights: Int
    public var prunableZeros: Int
    /// The pruned model's parameters.
    public var paramsTotal: Int
    public var paramsNonzero: Int
    /// Calibration windows used and their length (0 for methods without calibration).
    public var calibrationWindows: Int
    public var calibrationSeqlen: Int
    /// Layer index → projection name → sparsity.
    public var layers: [String: [String: MatrixSparsity]]
    /// Per-layer sparsity chosen by the allocation (OWL); nil for uniform.
    public var layerSparsity: [String: Double]?
    /// Mean over matrices of kept score with / without RIA's channel permutation.
    public var permutationKeptScoreGain: Double?
    /// DSnoT: weights regrown, each swapped for one pruned.
    public var dsnotSwaps: Int?
    /// The evolutionary mask search: generations, reconstruction error summed over the matrices before
    /// and after, children kept, weights whose mask changed.
    public var evolutionarySearch: EvolutionarySearchSummary?
    /// allocation evopress: the held-out next-token loss after each generation, the uniform allocation's first.
    public var allocationSearchLoss: [Double]?
    /// The whole-model mask search after the layer-wise one: generations, children kept, weights
    /// whose mask changed, calibration (and held-out) loss before and after.
    public var wholeModelSearch: WholeModelSearchOutcome?
    /// Seconds the layer-wise pruner took (its own phases are in `seconds_by_phase` as prune.*).
    public var seconds: Double
    /// Where the pruned model was written; nil if it was not saved.
    public var output: String?

    public init(_ r: PruneReport, output: String?) {
        sparsityAchieved = r.sparsityAchieved; modelSparsity = r.modelSparsity
        prunableWeights = r.prunableWeights; prunableZeros = r.prunableZeros
        paramsTotal = r.paramsTotal; paramsNonzero = r.paramsNonzero
        calibrationWindows = r.nsamples; calibrationSeqlen = r.seqlen
        layers = r.layers.mapValues { $0.mapValues {
            MatrixSparsity(rows: $0.rows, cols: $0.cols, sparsityRequested: $0.sparsityRequested, zeros: $0.zeros, sparsity: $0.sparsity)
        } }
        layerSparsity = r.layerSparsity; permutationKeptScoreGain = r.permutationKeptScoreGain
        dsnotSwaps = r.dsnotSwaps
        evolutionarySearch = r.evolutionarySearch
        allocationSearchLoss = r.allocationSearchLoss
        wholeModelSearch = r.wholeModelSearch
        seconds = r.seconds
        self.output = output
    }

    enum CodingKeys: String, CodingKey {
        case sparsityAchieved = "sparsity_achieved", modelSparsity = "model_sparsity"
        case prunableWeights = "prunable_weights", prunableZeros = "prunable_zeros"
        case paramsTotal = "params_total", paramsNonzero = "params_nonzero"
        case calibrationWindows = "calibration_windows", calibrationSeqlen = "calibration_seqlen"
        case layers, layerSparsity = "layer_sparsity", permutationKeptScoreGain = "permutation_kept_score_gain", dsnotSwaps = "dsnot_swaps"
        case evolutionarySearch = "evolutionary_search", allocationSearchLoss = "allocation_search_loss", wholeModelSearch = "whole_model_search"
        case seconds, output
    }
}
