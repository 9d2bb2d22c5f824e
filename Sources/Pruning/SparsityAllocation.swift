/// How an unstructured run's sparsity is spread over the layers (DESIGN.md §5, allocation).
public enum SparsityAllocation: String, CaseIterable, Codable, Sendable {
    /// Every layer gets the requested sparsity.
    case uniform
    /// Outlier-weighted layer-wise sparsity (OWL, Yin et al. 2024); the mean stays the requested one.
    case owl
}
