import LLM

/// Where importance scores compete for survival (DESIGN.md §5).
public enum ComparisonGroup: String, CaseIterable, Codable, Sendable {
    case row, layer, global
}

/// When each projection's calibration statistics are taken (DESIGN.md §5).
public enum PruneOrder: String, CaseIterable, Codable, Sendable {
    /// Wanda/SparseGPT reference code: a layer's statistics all come from its dense forward; a second
    /// forward with the pruned weights feeds the next layer.
    case reference
    /// SparseGPT's true-sequential: each projection's statistics come after the projections before
    /// it in the layer are pruned; one forward per layer.
    case onePass = "one-pass"
}

/// Settings of a post-training (unstructured / N:M) pruning run.
public struct PruneConfiguration: Codable, Sendable {
    public var method: PruneMethod
    public var pattern: SparsityPattern
    public var sparsity: Double
    public var group: ComparisonGroup
    public var attentionSparsity: Double?
    public var mlpSparsity: Double?
    public var matrices: [Projection]
    public var layers: ClosedRange<Int>?
    public var alpha: Double                  // RIA activation exponent
    public var seed: UInt64
    /// RIA's channel permutation before choosing N:M groups.
    public var permute: Bool = false
    /// Which of several equal scores in an N:M group is pruned.
    public var ties: TieBreak = .position
    /// Layer-wise allocation: uniform, or OWL (outlier-weighted, Yin et al. 2024).
    public var allocation: SparsityAllocation = .uniform
    /// OWL's outlier threshold M (a score is an outlier above M × the layer's mean score).
    public var owlM: Double = 5
    /// OWL's λ: layer sparsities spread over [s − λ, s + λ].
    public var owlLambda: Double = 0.08
    /// The EvoPress-like allocation search's budget, step and held-out windows (allocation evopress).
    public var allocationSearch = AllocationSearchSettings()
    /// Reference order or one-pass.
    public var order: PruneOrder = .reference
    /// GBLM-Pruner's weight α on the gradient term (its `--scale`, default 100).
    public var gblmScale: Double = 100
    /// DSnoT's initial method and swap settings.
    public var dsnot = DSnoTSettings()
    /// The evolutionary mask search's initial method, generations, seed and flip rates.
    public var es = EvolutionarySearchSettings()

    public init(method: PruneMethod, pattern: SparsityPattern = .unstructured, sparsity: Double,
                group: ComparisonGroup? = nil, attentionSparsity: Double? = nil, mlpSparsity: Double? = nil,
                matrices: [Projection] = Projection.allCases, layers: ClosedRange<Int>? = nil,
                alpha: Double = 0.5, seed: UInt64 = 0) {
        self.method = method
        self.pattern = pattern
        self.sparsity = pattern.impliedSparsity ?? sparsity
        let nm = pattern.impliedSparsity != nil
        self.group = group ?? (!nm && (method == .magnitude || method == .random) ? .layer : .row)
        self.attentionSparsity = attentionSparsity; self.mlpSparsity = mlpSparsity
        self.matrices = matrices; self.layers = layers; self.alpha = alpha; self.seed = seed
    }

    /// The sparsity asked of one projection.
    public func sparsity(for p: Projection) -> Double {
        (p.isAttention ? attentionSparsity : mlpSparsity) ?? sparsity
    }

    /// Refuses settings that cannot be met, with the reason.
    public func validate(layerCount: Int) throws {
        for (name, s) in [("sparsity", sparsity), ("attn_sparsity", attentionSparsity ?? 0), ("mlp_sparsity", mlpSparsity ?? 0)] {
            guard s >= 0 && s < 1 else { throw PruningError.invalidSetting("\(name) \(s) is outside [0, 1)") }
        }
        if case .nOfM = pattern, attentionSparsity != nil || mlpSparsity != nil {
            throw PruningError.invalidSetting("attn_sparsity/mlp_sparsity apply to unstructured patterns; N:M fixes the sparsity at N/M")
        }
        if let l = layers, l.lowerBound < 0 || l.upperBound >= layerCount {
            throw PruningError.invalidSetting("layers \(l.lowerBound)-\(l.upperBound) is outside the model's layers 0-\(layerCount - 1)")
        }
        if matrices.isEmpty { throw PruningError.invalidSetting("matrices selects no projection") }
        if group == .global && method.needsCalibration {
            throw PruningError.invalidSetting("group global needs every layer's scores at once; it is available for magnitude and random, not \(method.rawValue) (use row or layer)")
        }
        if allocation == .owl {
            guard pattern == .unstructured else { throw PruningError.invalidSetting("allocation owl applies to unstructured sparsity") }
            guard owlLambda >= 0, sparsity - owlLambda >= 0, sparsity + owlLambda < 1 else {
                throw PruningError.invalidSetting("OWL λ \(owlLambda) around sparsity \(sparsity) leaves [0, 1)")
            }
        }
        if allocation == .evopress {
            guard pattern == .unstructured else { throw PruningError.invalidSetting("allocation evopress applies to unstructured sparsity") }
            guard attentionSparsity == nil && mlpSparsity == nil else {
                throw PruningError.invalidSetting("allocation evopress moves one sparsity per layer; attn_sparsity/mlp_sparsity do not apply")
            }
            try allocationSearch.validate(sparsity: sparsity)
            let scored = method == .es ? es.initial : method == .dsnot ? dsnot.initial : method
            if scored == .sparsegpt { throw AllocationSearchError.method(.sparsegpt) }
        }
        if permute {
            guard case .nOfM = pattern else { throw PruningError.invalidSetting("permute applies to N:M patterns") }
            guard method != .sparsegpt && !(method == .es && es.initial == .sparsegpt) else { throw PruningError.invalidSetting("permute is for score-based methods (ria, wanda, magnitude), not sparsegpt") }
        }
        if order == .onePass && (group == .global || !method.needsActivations) {
            throw PruningError.invalidSetting("order one-pass concerns calibration activation statistics; \(method.rawValue) with group \(group.rawValue) uses none")
        }
        if method == .dsnot {
            guard pattern == .unstructured, group == .row else {
                throw PruningError.invalidSetting("DSnoT refines unstructured masks compared per output row; N:M and layer/global groups are not supported")
            }
            guard ![.sparsegpt, .dsnot].contains(dsnot.initial), !dsnot.initial.needsGradients else {
                throw PruningError.invalidSetting("DSnoT starts from a score-based method without gradients (wanda, magnitude, ria, entropy or random), not \(dsnot.initial.rawValue)")
            }
            guard dsnot.maxCycles >= 0, dsnot.updateThreshold >= 0, dsnot.varianceExponent.isFinite else {
                throw PruningError.invalidSetting("DSnoT needs cycles ≥ 0, a threshold ≥ 0 and a finite variance exponent")
            }
        }
        if method == .es {
            try es.validate()
        }
        if method == .gblm && !(gblmScale >= 0 && gblmScale.isFinite) {
            throw PruningError.invalidSetting("GBLM's gradient scale \(gblmScale) must be finite and non-negative")
        }
        if group != .row, case .nOfM = pattern {
            throw PruningError.invalidSetting("N:M patterns compare within each group of M weights; group does not apply")
        }
    }

    /// Parses "q,k,v,o,gate,up,down".
    public static func parseMatrices(_ s: String) throws -> [Projection] {
        try s.split(separator: ",").map { name in
            guard let p = Projection(rawValue: String(name).trimmingCharacters(in: .whitespaces)) else {
                throw PruningError.invalidSetting("unknown matrix '\(name)'; use some of q,k,v,o,gate,up,down")
            }
            return p
        }
    }

    /// Parses "a-b" (inclusive) or a single layer "a".
    public static func parseLayers(_ s: String) throws -> ClosedRange<Int> {
        let parts = s.split(separator: "-").map { Int($0) }
        if parts.count == 1, let a = parts[0] { return a...a }
        guard parts.count == 2, let a = parts[0], let b = parts[1], a <= b else {
            throw PruningError.invalidSetting("layers '\(s)' is not a range like 4-25")
        }
        return a...b
    }
}

import Foundation
