import Foundation
import LLM

public struct PerplexityResult: Codable, Sendable {
    public var model: String
    public var dataset: String
    public var `protocol`: String
    public var seqlen: Int
    public var windows: Int
    public var tokens: Int
    public var ppl: Double
    public var nllPerWindow: [Double]
    public var seconds: Double
    public var tokensPerSecond: Double
    /// Forward FLOPs per token at this window length (LanguageModel.forwardFLOPs convention).
    public var flopsPerToken: Double
    public var gflopsPerSecond: Double

    enum CodingKeys: String, CodingKey {
        case model, dataset, `protocol`, seqlen, windows, tokens, ppl
        case nllPerWindow = "nll_per_window", seconds, tokensPerSecond = "tokens_per_second"
        case flopsPerToken = "flops_per_token", gflopsPerSecond = "gflops_per_second"
    }
}

/// Perplexity over non-overlapping windows (DESIGN.md §7): the text is tokenized once, cut
/// into windows of `seqlen` tokens (tail dropped), and
///   ppl = exp(mean over windows of the mean next-token cross-entropy in the window),
/// which for equal windows is also LLM-Pruner's per-token mean.
public enum Perplexity {
    /// The first `limit` (default all) windows of `seqlen` tokens.
    public static func windows(tokens: [Int32], seqlen: Int, limit: Int?, dataset: String) throws -> [[Int32]] {
        guard seqlen >= 2 else { throw PerplexityError.seqlenTooShort(seqlen) }
        let available = tokens.count / seqlen
        guard available > 0 else { throw DatasetError.tooFewTokens(dataset: dataset, tokens: tokens.count, seqlen: seqlen) }
        if let limit, limit > available {
            throw DatasetError.notEnoughWindows(dataset: dataset, requested: limit, available: available, seqlen: seqlen)
        }
        let n = limit ?? available
        return (0..<n).map { Array(tokens[($0 * seqlen)..<(($0 + 1) * seqlen)]) }
    }

    /// Mean next-token NLL of one window (seqlen − 1 predictions).
    public static func windowNLL(model: LanguageModel, window: [Int32], pass: PerplexityPass = .prefill) throws -> Double {
        if pass == .decode { return try decodedWindowNLL(model: model, window: window) }
        var hidden = try model.embed(window)
        try model.runLayers(0..<model.layerCount, hidden: &hidden)
        return meanNLL(model: model, window: window, lastHidden: hidden)
    }

    /// Mean next-token NLL of a window from the last block's output over it.
    static func meanNLL(model: LanguageModel, window: [Int32], lastHidden hidden: [Float]) -> Double {
        var targets = Array(window.dropFirst())
        targets.append(-1)
        let nll = model.nextTokenNLL(hidden: hidden, targets: targets)
        var sum = 0.0
        for i in 0..<(window.count - 1) { sum += Double(nll[i]) }
        return sum / Double(window.count - 1)
    }

    /// The same mean, one token at a time through the KV cache: −log softmax(logits)[next].
    static func decodedWindowNLL(model: LanguageModel, window: [Int32]) throws -> Double {
        let cache = model.makeCache(capacity: window.count)
        var sum = 0.0
        for i in 0..<(window.count - 1) {
            let logits = try model.lastLogits([window[i]], cache: cache)
            let target = Int(window[i + 1])
            guard target >= 0, target < logits.count else { throw PerplexityError.tokenOutOfVocabulary(token: target, vocabulary: logits.count) }
            let top = Double(logits.max() ?? 0)
            var z = 0.0
            for l in logits { z += exp(Double(l) - top) }
            sum += top + log(z) - Double(logits[target])
        }
        return sum / Double(window.count - 1)
    }

    /// Mean NLL of every window with the blocks streamed (`LayerResidency`): layer-major, each
    /// block loaded once and run over all windows' hidden states, then released. The same sums
    /// as `windowNLL` per window. `progress(done, total)` counts blocks.
    public static func streamedWindowNLLs(model: LanguageModel, residency: LayerResidency, windows: [[Int32]],
                                          progress: ((Int, Int) -> Void)? = nil) throws -> [Double] {
        var hidden = try windows.map { try model.embed($0) }
        for i in 0..<model.layerCount {
            try residency.load(i)
            for w in hidden.indices { try model.runLayers(i..<(i + 1), hidden: &hidden[w]) }
            residency.release(i)
            progress?(i + 1, model.layerCount)
        }
        return zip(windows, hidden).map { meanNLL(model: model, window: $0, lastHidden: $1) }
    }

    /// Evaluates all windows; `progress(done, total, seconds)` is called after each (after each
    /// block when streamed: `residency`, prefill pass only).
    public static func evaluate(model: LanguageModel, modelName: String, dataset: String, protocol proto: PerplexityProtocol,
                                windows: [[Int32]], pass: PerplexityPass = .prefill, residency: LayerResidency? = nil,
                                progress: ((Int, Int, Double) -> Void)? = nil) throws -> PerplexityResult {
        let start = Date()
        var nlls: [Double] = []
        if let residency {
            guard pass == .prefill else { throw PerplexityError.streamedDecodePass }
            nlls = try streamedWindowNLLs(model: model, residency: residency, windows: windows) { done, total in
                progress?(done, total, Date().timeIntervalSince(start))
            }
            if let bad = nlls.firstIndex(where: { !$0.isFinite }) { throw PerplexityError.nonFiniteLoss(window: bad) }
        }
        for (i, w) in windows.enumerated() where residency == nil {
            let nll = try windowNLL(model: model, window: w, pass: pass)
            guard nll.isFinite else {
                throw PerplexityError.nonFiniteLoss(window: i)
            }
            nlls.append(nll)
            progress?(i + 1, windows.count, Date().timeIntervalSince(start))
        }
        let seconds = Date().timeIntervalSince(start)
        let seqlen = windows.first?.count ?? 0
        let tokens = windows.count * seqlen
        let mean = nlls.reduce(0, +) / Double(max(1, nlls.count))
        let flopsPerToken = model.forwardFLOPs(length: seqlen) / Double(max(1, seqlen))
        let tps = Double(tokens) / max(seconds, 1e-9)
        return PerplexityResult(model: modelName, dataset: dataset, protocol: proto.rawValue, seqlen: seqlen,
                                windows: windows.count, tokens: tokens, ppl: exp(mean), nllPerWindow: nlls,
                                seconds: seconds, tokensPerSecond: tps,
                                flopsPerToken: flopsPerToken, gflopsPerSecond: flopsPerToken * tps / 1e9)
    }
}
