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

/// Scores multiple-choice documents as lm-eval's HFLM does, with less work: each document's shared
/// token prefix (its context) runs once and every choice attends to it, and many documents' tokens
/// are packed into one forward (`LanguageModel.runLayers(packed:)`), so each projection is one large
/// GEMM however short the choices are. Token handling follows HFLM `_encode_pair`: trailing
/// whitespace of the context moves onto the continuation; whole = encode(context + continuation),
/// context = encode(context), continuation tokens = whole[len(context tokens)...], each encoded
/// with the tokenizer's default special tokens (HFLM v0.4.13 with `add_bos_token` unset calls
/// `tokenizer.encode(text)`; SmolLM2 adds none); inputs longer than `maxLength + 1` tokens are cut
/// on the left.
public final class LoglikelihoodScorer {
    public let model: LanguageModel
    public let tokenizer: Tokenizer?
    public let maxLength: Int
    /// Packed rows per forward (more documents wait for the next forward); a longer document runs alone.
    public let rowsPerForward: Int

    public init(model: LanguageModel, tokenizer: Tokenizer?, maxLength: Int = 2048, rowsPerForward: Int = 4096) {
        self.model = model; self.tokenizer = tokenizer; self.maxLength = maxLength
        self.rowsPerForward = max(1, rowsPerForward)
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

    /// Model inputs for one request: input = (ctx + cont)[-(maxLength+1):][:-1] and the continuation
    /// tokens that remain (the last `targets.count` tokens; target t is predicted at input position
    /// input.count − targets.count + t).
    func prepare(_ ctx: [Int32], _ cont: [Int32]) throws -> (input: [Int32], targets: [Int32]) {
        guard !cont.isEmpty else { throw TaskScoringError.emptyContinuation(context: "", continuation: "") }
        guard !ctx.isEmpty else { throw TaskScoringError.emptyContext }
        let all = Array((ctx + cont).suffix(maxLength + 1))
        let input = Array(all.dropLast())
        return (input, Array(cont.suffix(min(cont.count, input.count))))
    }

    /// Scores every request of one document.
    public func score(_ requests: [TaskRequest]) throws -> [ContinuationScore] {
        try score(documents: [requests])[0]
    }

    /// Scores several documents' requests (one array per document), packing them into forwards.
    public func score(documents: [[TaskRequest]]) throws -> [[ContinuationScore]] {
        let tokenized = try documents.map { requests in
            try requests.map { r in
                let p = encodePair(context: r.context, continuation: r.continuation)
                if p.continuation.isEmpty { throw TaskScoringError.emptyContinuation(context: r.context, continuation: r.continuation) }
                return p
            }
        }
        return try score(tokenDocuments: tokenized)
    }

    /// Scores (context ids, continuation ids) pairs that make up one document.
    public func score(tokens pairs: [(context: [Int32], continuation: [Int32])]) throws -> [ContinuationScore] {
        try score(tokenDocuments: [pairs])[0]
    }

    /// One document laid out in a packed batch: its token rows and, per request, the packed row
    /// that predicts each target.
    struct PackedDocument {
        var tokens: [Int32] = []
        var segments: [AttentionSegment] = []     // starts relative to this document
        var predictingRows: [[Int]] = []          // per request, relative to this document
        var targets: [[Int32]] = []
    }

    /// The document's requests share their longest common input prefix (up to the shortest context),
    /// which becomes one segment; each request's remaining input is a segment continuing it.
    func layout(_ pairs: [(context: [Int32], continuation: [Int32])]) throws -> PackedDocument {
        let prepared = try pairs.map { try prepare($0.context, $0.continuation) }
        let inputs = prepared.map(\.input)
        var shared = max(0, prepared.map { $0.input.count - $0.targets.count + 1 }.min() ?? 0)
        for inp in inputs {
            var k = 0
            while k < shared && k < inp.count && inp[k] == inputs[0][k] { k += 1 }
            shared = k
        }
        var d = PackedDocument()
        if shared > 0 {
            d.tokens = Array(inputs[0][..<shared])
            d.segments.append(AttentionSegment(start: 0, count: shared))
        }
        for p in prepared {
            let start = d.tokens.count
            if p.input.count > shared {
                d.tokens += p.input[shared...]
                d.segments.append(AttentionSegment(start: start, count: p.input.count - shared, prefixStart: 0, prefixCount: shared))
            }
            let first = p.input.count - p.targets.count
            d.predictingRows.append((0..<p.targets.count).map { t in
                let pos = first + t
                return pos < shared ? pos : start + pos - shared
            })
            d.targets.append(p.targets)
        }
        return d
    }

    /// Scores documents given as token pairs, in packed forwards of at most `rowsPerForward` rows.
    public func score(tokenDocuments: [[(context: [Int32], continuation: [Int32])]]) throws -> [[ContinuationScore]] {
        let docs = try tokenDocuments.map(layout)
        var out: [[ContinuationScore]] = []
        var k = 0
        while k < docs.count {
            var end = k + 1, rows = docs[k].tokens.count
            while end < docs.count && rows + docs[end].tokens.count <= rowsPerForward { rows += docs[end].tokens.count; end += 1 }
            out += try scorePacked(Array(docs[k..<end]))
            k = end
        }
        return out
    }

    func scorePacked(_ docs: [PackedDocument]) throws -> [[ContinuationScore]] {
        var tokens: [Int32] = [], segments: [AttentionSegment] = [], offsets: [Int] = []
        for doc in docs {
            let o = tokens.count
            offsets.append(o)
            tokens += doc.tokens
            segments += doc.segments.map {
                AttentionSegment(start: $0.start + o, count: $0.count, prefixStart: $0.prefixStart + o, prefixCount: $0.prefixCount)
            }
        }
        var hidden = try model.embed(packed: tokens, segments: segments)   // learned positions restart per segment
        model.runLayers(packed: &hidden, segments: segments)
        let d = model.hiddenSize
        // The head runs only on the rows that predict a target, one document at a time (vocab-wide rows).
        return zip(docs, offsets).map { doc, o in
            let rows = doc.predictingRows.flatMap { $0 }
            var needed = [Float](repeating: 0, count: rows.count * d)
            for (i, r) in rows.enumerated() {
                for j in 0..<d { needed[i * d + j] = hidden[(o + r) * d + j] }
            }
            let logits = model.headLogits(normed: model.finalNormed(needed))
            var scores: [ContinuationScore] = []
            var row = 0
            logits.withUnsafeBufferPointer { lb in
                for targets in doc.targets {
                    scores.append(Self.continuationScore(logits: lb.baseAddress! + row * model.vocabSize, vocab: model.vocabSize,
                                                         targets: targets))
                    row += targets.count
                }
            }
            return scores
        }
    }

    /// Σ log-softmax(logits[r])[targets[r]] and whether every target is its row's argmax
    /// (the first maximum, as torch.argmax on CPU).
    static func continuationScore(logits: UnsafePointer<Float>, vocab: Int, targets: [Int32]) -> ContinuationScore {
        var ll = 0.0
        var greedy = true
        for (r, t) in targets.enumerated() {
            let row = logits + r * vocab
            ll += Double(row[Int(t)]) - Double(logSumExp(row, count: vocab))
            var best = 0
            var bestV = row[0]
            for j in 1..<vocab where row[j] > bestV { bestV = row[j]; best = j }
            if best != Int(t) { greedy = false }
        }
        return ContinuationScore(loglikelihood: ll, isGreedy: greedy)
    }
}
