import LLM

/// Importance of a whole decoder layer as the increase of the mean next-token loss over the
/// calibration windows when that layer alone is skipped (the residual stream passes through).
public enum LayerRemovalLoss {
    /// loss(model without layer i) − loss(model), for every layer i.
    public static func scores(model: LanguageModel, windows: [[Int32]]) throws -> [Double] {
        guard !windows.isEmpty else { throw StructuredPruningError.invalidSetting("layer loss scoring needs calibration windows") }
        let dense = try meanLoss(model: model, windows: windows, skipping: nil)
        return try (0..<model.layerCount).map { try meanLoss(model: model, windows: windows, skipping: $0) - dense }
    }

    /// Mean next-token loss over the windows, with layer `skip` (if any) passed through.
    static func meanLoss(model: LanguageModel, windows: [[Int32]], skipping skip: Int?) throws -> Double {
        let n = model.layerCount
        var total = 0.0, count = 0
        for w in windows {
            var h = try model.embed(w)
            if let s = skip {
                try model.runLayers(0..<s, hidden: &h)
                try model.runLayers((s + 1)..<n, hidden: &h)
            } else {
                try model.runLayers(0..<n, hidden: &h)
            }
            let targets = Array(w.dropFirst()) + [-1]
            let nll = model.nextTokenNLL(hidden: h, targets: targets)
            for r in 0..<(w.count - 1) { total += Double(nll[r]) }
            count += w.count - 1
        }
        return total / Double(max(1, count))
    }
}
