import Compute
import Foundation
import LLM
import ModelIO

/// The loglikelihood of one continuation: Σ log p(token | everything before it) over the
/// continuation's tokens, and whether every continuation token is the argmax (lm-eval's is_greedy).
public struct ContinuationScore: Codable, Equatable, Sendable {
    public let loglikelihood: Double
    public let isGreedy: Bool
    public init(loglikelihood: Double, isGreedy: Bool) { self.loglikelihood = loglikelihood; self.isGreedy = isGreedy }
}

public enum TaskScoringError: Error, CustomStringConvertible {
    case emptyContinuation(context: String, continuation: String)
    case emptyContext
    public var description: String {
        switch self {
        case .emptyContinuation(_, let c): return "continuation '\(c)' encodes to no tokens"
        case .emptyContext: return "a request has an empty context"
        }
    }
}

/// Scores multiple-choice documents as lm-eval's HFLM does, but runs each document's shared
/// token prefix (the context) once: the KV cache holds it, and each choice's remaining tokens
/// are run from it after `truncate`. Token handling follows HFLM `_encode_pair`: trailing
/// whitespace of the context moves onto the continuation; whole = encode(context + continuation),
/// context = encode(context), continuation tokens = whole[len(context tokens)...], each encoded
/// with the tokenizer's default special tokens (HFLM v0.4.13 with `add_bos_token` unset calls
/// `tokenizer.encode(text)`; SmolLM2 adds none); inputs longer than `maxLength + 1` tokens are cut
/// on the left.
public final class LoglikelihoodScorer {
    public let model: LlamaModel
    public let tokenizer: Tokenizer?
    public let maxLength: Int
    let cache: KVCache

    public init(model: LlamaModel, tokenizer: Tokenizer?, maxLength: Int = 2048) {
        self.model = model; self.tokenizer = tokenizer; self.maxLength = maxLength
        cache = model.makeCache(capacity: maxLength)
    }

    /// Context and continuation token ids exactly as HFLM `_encode_pair` forms them.
    public func encodePair(context: String, continuation: String) -> (context: [Int32], continuation: [Int32]) {
        var ctx = context, cont = continuation
        let trailing = ctx.reversed().prefix(while: { $0.isWhitespace }).count
        if trailing > 0 {
            cont = String(ctx.suffix(trailing)) + cont
            ctx = String(ctx.dropLast(trailing))
        }
        guard let tokenizer else { preconditionFailure("a scorer without a tokenizer scores token ids only") }
        let whole = tokenizer.encode(ctx + cont)
        let ctxEnc = tokenizer.encode(ctx)
        return (ctxEnc, Array(whole[min(ctxEnc.count, whole.count)...]))
    }

    /// Model inputs for one request: (input tokens, number of them that are context,
    /// continuation targets). input = (ctx + cont)[-(maxLength+1):][:-1].
    func prepare(_ ctx: [Int32], _ cont: [Int32]) throws -> (input: [Int32], contextCount: Int, targets: [Int32]) {
        guard !cont.isEmpty else { throw TaskScoringError.emptyContinuation(context: "", continuation: "") }
        guard !ctx.isEmpty else { throw TaskScoringError.emptyContext }
        let all = Array((ctx + cont).suffix(maxLength + 1))
        let input = Array(all.dropLast())
        return (input, input.count - cont.count + 1, Array(cont.suffix(min(cont.count, input.count))))
    }

    /// Scores every request of a document. Requests share their longest common token prefix
    /// (up to the shortest context), which runs once.
    public func score(_ requests: [TaskRequest]) throws -> [ContinuationScore] {
        let pairs = requests.map { encodePair(context: $0.context, continuation: $0.continuation) }
        for (r, p) in zip(requests, pairs) where p.continuation.isEmpty {
            throw TaskScoringError.emptyContinuation(context: r.context, continuation: r.continuation)
        }
        return try score(tokens: pairs)
    }

    /// Scores (context ids, continuation ids) pairs that make up one document.
    public func score(tokens pairs: [(context: [Int32], continuation: [Int32])]) throws -> [ContinuationScore] {
        let prepared = try pairs.map { try prepare($0.context, $0.continuation) }
        let inputs = prepared.map(\.input)
        var shared = prepared.map { $0.contextCount }.min()!
        for inp in inputs.dropFirst() {
            var k = 0
            while k < shared && k < inp.count && inp[k] == inputs[0][k] { k += 1 }
            shared = k
        }
        let d = model.hiddenSize
        cache.reset()
        var prefixLast: [Float] = []
        if shared > 0 {
            var h = try model.embed(Array(inputs[0][..<shared]))
            try model.runLayers(0..<model.layers.count, hidden: &h, cache: cache)
            prefixLast = Array(h[((shared - 1) * d)...])
        }
        var out: [ContinuationScore] = []
        for p in prepared {
            cache.truncate(to: shared)
            // Hidden rows for positions shared-1 ..< input.count (the first only when shared > 0).
            var rows = prefixLast
            if p.input.count > shared {
                var h = try model.embed(Array(p.input[shared...]))
                try model.runLayers(0..<model.layers.count, hidden: &h, cache: cache)
                rows += h
            }
            let first = shared > 0 ? shared - 1 : 0          // position of rows[0]
            let from = (p.contextCount - 1 - first) * d         // row predicting the first target
            let needed = Array(rows[from..<(from + p.targets.count * d)])
            out.append(Self.continuationScore(logits: model.headLogits(normed: model.finalNormed(needed)),
                                              vocab: model.vocabSize, targets: p.targets))
        }
        return out
    }

    /// Σ log-softmax(logits[r])[targets[r]] and whether every target is its row's argmax
    /// (the first maximum, as torch.argmax on CPU).
    static func continuationScore(logits: [Float], vocab: Int, targets: [Int32]) -> ContinuationScore {
        var ll = 0.0
        var greedy = true
        logits.withUnsafeBufferPointer { lb in
            for (r, t) in targets.enumerated() {
                let row = lb.baseAddress! + r * vocab
                ll += Double(row[Int(t)]) - Double(logSumExp(row, count: vocab))
                var best = 0
                var bestV = row[0]
                for j in 1..<vocab where row[j] > bestV { bestV = row[j]; best = j }
                if best != Int(t) { greedy = false }
            }
        }
        return ContinuationScore(loglikelihood: ll, isGreedy: greedy)
    }
}
