/// How the importance of one structural group is measured (LLM-Pruner, Ma et al. 2023, §3.2).
public enum StructuredCriterion: String, CaseIterable, Codable, Sendable {
    /// Σ|w| over the group's weights (LLM-Pruner's MagnitudeImportance(p=1)).
    case l1
    /// Σw² over the group's weights (MagnitudeImportance(p=2): a sum of squares, no square root).
    case l2
    /// A seeded uniform score per group (the random baseline).
    case random
    /// Taylor expansion of the loss change when the group is removed (Eq. 3–5), from gradients.
    case taylor
    /// Bonsai (Dery et al. 2024): forward passes of perturbed sub-models and a linear fit of
    /// their calibration perplexity, in rounds (block mode only; `Bonsai`).
    case bonsai
    /// L0 regularization with Hard Concrete gates (Louizos et al. 2018) under CoFi's Lagrangian
    /// sparsity constraint, gates learned on the calibration windows with the weights frozen
    /// (block mode only; `HardConcreteGates`).
    case l0
}

/// The element-wise Taylor term (LLM-Pruner's `--taylor` choice).
public enum TaylorOrder: String, CaseIterable, Codable, Sendable {
    /// |w·g| — param_first: first-order term of Eq. 5.
    case first
    /// |w·F·w| with F = Σ_j g_j²/N — param_second: the diagonal-Fisher approximation of the
    /// Hessian term ½wᵀHw (the ½ does not change the ranking and the reference omits it).
    case second
    /// |w·g − ½·w·F·w| — param_mix: both terms of Eq. 5.
    case mix
    /// |Σ w·g| over a whole channel — "vectorize": the vector-wise first-order term (Eq. 3).
    case vectorize

    /// Whether the diagonal Fisher (accumulated squared per-window gradients) is needed.
    public var needsFisher: Bool { self == .second || self == .mix }
}

/// How the scores of the parameters that form one group are combined (LLM-Pruner's
/// `--grouping_strategy`): each dependent weight tensor first gives one score per channel,
/// then the tensors' scores are combined per channel.
public enum GroupAggregation: String, CaseIterable, Codable, Sendable {
    case sum, mean, max
    /// Product of the tensors' scores; taken as a sum of logarithms, which ranks identically and
    /// does not underflow when hundreds of tensors share a hidden channel.
    case product
}
