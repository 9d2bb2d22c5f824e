import LLM

/// Chooses whole layers to drop (lowest score first) so that the model shrinks by the ratio.
/// A layer is a coarse unit (SmolLM2-135M: 2.6 points of the model each), so in model mode a
/// ratio that no number of layers meets within 0.5 points is refused with the two nearest
/// reachable ratios rather than silently missed.
public enum LayerDropBudget {
    /// Dense indices of the layers to drop, ascending.
    public static func solve(model: LanguageModel, candidates: [Int], scores: [Double], ratio: Double,
                             mode: RatioMode) throws -> [Int] {
        let order = candidates.sorted { scores[$0] != scores[$1] ? scores[$0] < scores[$1] : $0 < $1 }
        // At least one layer of the model stays.
        let droppable = candidates.count == model.layerCount ? order.count - 1 : order.count
        if mode == .layer {
            return Array(order.prefix(min(droppable, Int(Double(candidates.count) * ratio)))).sorted()
        }
        let total = Double(model.parameterCount)
        var cumulative = [0.0]
        for i in order.prefix(droppable) { cumulative.append(cumulative.last! + Double(model.parameterCount(layer: i)) / total) }
        let maximum = cumulative.last!
        if ratio > maximum + BlockBudget.tolerance {
            throw StructuredPruningError.ratioUnreachable(requested: ratio, maximum: maximum, scope: "whole layers among \(candidates.count) candidates")
        }
        let k = cumulative.indices.min { abs(cumulative[$0] - ratio) < abs(cumulative[$1] - ratio) }!
        if abs(cumulative[k] - ratio) > BlockBudget.tolerance {
            let below = cumulative.last { $0 < ratio }, above = cumulative.first { $0 > ratio }
            throw StructuredPruningError.ratioNotRepresentable(
                requested: ratio, below: below, above: above,
                granularity: String(format: "layer drop removes whole layers (%.2f points each)", cumulative[1] * 100))
        }
        return Array(order.prefix(k)).sorted()
    }
}
