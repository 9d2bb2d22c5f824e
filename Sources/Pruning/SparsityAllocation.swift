/// How an unstructured run's sparsity is spread over the layers (DESIGN.md §5, allocation).
public enum SparsityAllocation: String, CaseIterable, Codable, Sendable {
    /// Every layer gets the requested sparsity.
    case uniform
    /// Outlier-weighted layer-wise sparsity (OWL, Yin et al. 2024); the mean stays the requested one.
    case owl
    /// EvoPress-like search (Sieberling et al. 2024, `AllocationSearch`): sparsity moved between layers in
    /// fixed steps, the total kept, scored by the next-token loss on held-out calibration windows.
    case evopress
}
