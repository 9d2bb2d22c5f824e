import XCTest
import Evaluation
import LLM
import ModelIO

/// The packed shared-context scorer against a plain full forward pass per request.
final class TaskScoringTests: XCTestCase {
    static let tiny = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Fixtures/tiny")

    /// Σ log-softmax of the continuation tokens and is_greedy from one forward over ctx + cont.
    func reference(_ model: LanguageModel, context: [Int32], continuation: [Int32]) throws -> (Double, Bool) {
        let input = Array((context + continuation).dropLast())
        let logits = try model.logits(input)
        let v = model.vocabSize
        var ll = 0.0, greedy = true
        for (k, t) in continuation.enumerated() {
            let row = Array(logits[((context.count - 1 + k) * v)..<((context.count + k) * v)]).map(Double.init)
            let m = row.max()!
            let lse = m + log(row.reduce(0) { $0 + exp($1 - m) })
            ll += row[Int(t)] - lse
            if row.firstIndex(of: m)! != Int(t) { greedy = false }
        }
        return (ll, greedy)
    }

    func check(_ model: LanguageModel, _ pairs: [(context: [Int32], continuation: [Int32])], scorer: LoglikelihoodScorer,
               line: UInt = #line) throws {
        let got = try scorer.score(tokens: pairs)
        XCTAssertEqual(got.count, pairs.count, line: line)
        for (g, p) in zip(got, pairs) {
            let (ll, greedy) = try reference(model, context: p.context, continuation: p.continuation)
            XCTAssertEqual(g.loglikelihood, ll, accuracy: 1e-3 * max(1, abs(ll)), line: line)
            XCTAssertEqual(g.isGreedy, greedy, line: line)
        }
    }

    func testTinyModelSharedContextEqualsFullForward() throws {
        let model = try LlamaModel(checkpoint: try HFCheckpoint(directory: Self.tiny.appendingPathComponent("llama-gqa-tied").path))
        let scorer = LoglikelihoodScorer(model: model, tokenizer: nil, maxLength: 64)
        let v = Int32(model.vocabSize)
        let ctx: [Int32] = (0..<11).map { ($0 * 7 + 3) % v }
        // Shared context, continuations of 1 to 4 tokens (hellaswag/arc-style).
        try check(model, [(ctx, [5]), (ctx, [9, 2]), (ctx, [1, 1, 4, 8])], scorer: scorer)
        // Different contexts with a common prefix, same continuation (winogrande-style).
        try check(model, [(ctx + [4, 6], [2, 3, 5]), (ctx + [7], [2, 3, 5])], scorer: scorer)
        // A one-token context and no shared prefix at all.
        try check(model, [([1], [2, 3]), ([3], [2])], scorer: scorer)
        // Greedy continuation: the argmax token after ctx is greedy by construction.
        let last = try model.lastLogits(ctx)
        let best = Int32(last.firstIndex(of: last.max()!)!)
        XCTAssertTrue(try scorer.score(tokens: [(ctx, [best])])[0].isGreedy)
    }

    /// Documents packed together (one forward, or split by a small row budget) score as each alone.
    func testPackedDocumentsEqualFullForward() throws {
        let model = try LlamaModel(checkpoint: try HFCheckpoint(directory: Self.tiny.appendingPathComponent("llama-gqa-tied").path))
        let v = Int32(model.vocabSize)
        let ctx: [Int32] = (0..<11).map { ($0 * 7 + 3) % v }
        let docs: [[(context: [Int32], continuation: [Int32])]] = [
            [(ctx, [5]), (ctx, [9, 2]), (ctx, [1, 1, 4, 8])],
            [(ctx + [4, 6], [2, 3, 5]), (ctx + [7], [2, 3, 5])],
            [([1], [2, 3]), ([3], [2])],
            [(Array(ctx.reversed()), [6]), (Array(ctx.reversed()), [7])],
        ]
        for budget in [4096, 20, 1] {
            let scorer = LoglikelihoodScorer(model: model, tokenizer: nil, maxLength: 64, rowsPerForward: budget)
            let got = try scorer.score(tokenDocuments: docs)
            XCTAssertEqual(got.count, docs.count)
            for (g, pairs) in zip(got, docs) {
                XCTAssertEqual(g.count, pairs.count)
                for (s, p) in zip(g, pairs) {
                    let (ll, greedy) = try reference(model, context: p.context, continuation: p.continuation)
                    XCTAssertEqual(s.loglikelihood, ll, accuracy: 1e-3 * max(1, abs(ll)), "budget \(budget)")
                    XCTAssertEqual(s.isGreedy, greedy)
                }
            }
        }
    }

    func testLeftTruncationAsLMEval() throws {
        let model = try LlamaModel(checkpoint: try HFCheckpoint(directory: Self.tiny.appendingPathComponent("llama-gqa-tied").path))
        let scorer = LoglikelihoodScorer(model: model, tokenizer: nil, maxLength: 8)
        let ctx: [Int32] = Array(1...12), cont: [Int32] = [3, 4]
        // lm-eval: input = (ctx + cont)[-(max_length + 1):][:-1].
        let kept = Array((ctx + cont).suffix(9))
        let (ll, _) = try reference(model, context: Array(kept.dropLast(2)), continuation: cont)
        XCTAssertEqual(try scorer.score(tokens: [(ctx, cont)])[0].loglikelihood, ll, accuracy: 1e-3 * max(1, abs(ll)))
    }

    /// SmolLM2 on real task documents: every choice's loglikelihood equals the full-forward sum.
    func testSmolLM2TaskDocumentsEqualFullForward() throws {
        let loaded: LoadedModel
        do { loaded = try ModelLoader.load("smollm2-135m") } catch {
            if ProcessInfo.processInfo.environment["CI"] == "true" { throw error }
            throw XCTSkip("smollm2-135m not fetched: \(error)")
        }
        let data = TaskPromptTests.data
        let scorer = LoglikelihoodScorer(model: loaded.model, tokenizer: loaded.tokenizer)
        for task in [ZeroShotTask.hellaswag, .winogrande, .arc_challenge] {
            guard task.files.allSatisfy({ FileManager.default.fileExists(atPath: data.url.appendingPathComponent($0).path) }) else {
                if ProcessInfo.processInfo.environment["CI"] == "true" { XCTFail("no \(task) data") }
                continue
            }
            for doc in try task.documents(data: data, limit: 2) {
                let pairs = doc.requests.map { scorer.encodePair(context: $0.context, continuation: $0.continuation) }
                try check(loaded.model, pairs, scorer: scorer)
            }
        }
    }
}
