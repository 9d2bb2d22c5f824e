import Experiments
import Foundation
import LLM
import ModelIO
import XCTest

/// The memory plan a run makes before it starts (DESIGN.md §11): its parts follow the shapes and
/// settings, streaming holds one block instead of all, and a budget below the plan refuses the run.
final class MemoryPlanTests: XCTestCase {
    func testSizesParseAsPowersOf1024() {
        XCTAssertEqual(MemorySize.parse("12G"), 12 << 30)
        XCTAssertEqual(MemorySize.parse("1.5GiB"), 3 << 29)
        XCTAssertEqual(MemorySize.parse("800mb"), 800 << 20)
        XCTAssertEqual(MemorySize.parse("64K"), 64 << 10)
        XCTAssertEqual(MemorySize.parse("4096"), 4096)
        for bad in ["", "G", "abc", "-1G", "0", "12X", "1e30T"] { XCTAssertNil(MemorySize.parse(bad), bad) }
    }

    func part(_ plan: MemoryPlan, _ prefix: String) -> Int? { plan.parts.first { $0.name.hasPrefix(prefix) }?.bytes }

    /// Llama-2-7B's published sizes: 32 blocks of 202,383,360 parameters, 262,148,096 outside them.
    func testSevenBillionParametersFitOnlyWhenStreamed() throws {
        let shape = ModelShape(config: LlamaShape.llama2_7b.config, storedBytesPerValue: 2)
        XCTAssertEqual(shape.largestBlockParameterCount, 202_383_360)
        XCTAssertEqual(shape.nonBlockParameterCount, 262_148_096)
        var s = PruneSettings()
        s.method = .wanda; s.pattern = .nOfM(n: 2, m: 4); s.nsamples = 8; s.seqlen = 1024; s.output = "/nowhere"
        let inMemory = MemoryPlan.prune(shape, settings: s)
        XCTAssertEqual(part(inMemory, "every block"), 32 * 202_383_360 * 4)
        XCTAssertGreaterThan(inMemory.totalBytes, 26 << 30)
        s.stream = true
        let streamed = MemoryPlan.prune(shape, settings: s)
        XCTAssertEqual(part(streamed, "one block"), 202_383_360 * 4)
        XCTAssertNil(part(streamed, "every block"))
        XCTAssertEqual(part(streamed, "calibration hidden"), 8 * 1024 * 4096 * 4)
        XCTAssertEqual(part(streamed, "checkpoint pages"), 32000 * 4096 * 2)   // the embedding, in BF16
        XCTAssertLessThan(streamed.totalBytes, 8 << 30)

        // SparseGPT adds its Hessians: every site of a block at once in the reference order, the
        // largest (down_proj's 11008²) alone in one-pass.
        s.method = .sparsegpt; s.pattern = .unstructured
        XCTAssertEqual(part(MemoryPlan.prune(shape, settings: s), "Hessians"), (3 * 4096 * 4096 + 11008 * 11008) * 4)
        s.order = .onePass
        let onePass = MemoryPlan.prune(shape, settings: s)
        XCTAssertEqual(part(onePass, "Hessians"), 11008 * 11008 * 4)
        // Measured: the 7B one-pass run peaked at 5.69 GiB when this part counted two copies
        // (plan 5.57 GiB); the dampened copy is a third.
        XCTAssertEqual(part(onePass, "SparseGPT's dampened Hessian, inverse and factor"), 3 * 11008 * 11008 * 4)
        XCTAssertEqual(part(onePass, "calibration windows' block state"),
                       8 * 1024 * (4096 + 11008 + (4096 + 2 * 4096 + 2 * 4096 + 2 * 11008)) * 4)
        XCTAssertLessThan(onePass.totalBytes, 8 << 30)
    }

    /// Found by the config fuzz harness (fuzz/, issue 18): the largest block was found by scanning
    /// the whole parameter registry once per block, quadratic in the layer count, so a config.json
    /// with a few thousand layers (of any width) kept the plan busy for seconds, 65,536 for hours
    /// (the layer limit was 2¹⁶ then; now 2¹², which this config claims).
    func testThePlanOfAConfigWithThousandsOfLayersIsQuick() throws {
        let config = try HFConfig.parse(Data("""
            {"architectures":["LlamaForCausalLM"],"hidden_size":8,"num_hidden_layers":4096,"num_attention_heads":2,
             "intermediate_size":16,"vocab_size":32}
            """.utf8))
        let start = Date()
        let shape = ModelShape(config: config, storedBytesPerValue: 2)
        // q, k, v, o (8 × 8 each), gate, up, down (16 × 8 each) and two norms of 8.
        XCTAssertEqual(shape.largestBlockParameterCount, 4 * 64 + 3 * 128 + 2 * 8)
        var s = PruneSettings()
        s.method = .wanda; s.nsamples = 8; s.seqlen = 64; s.output = "/nowhere"
        XCTAssertGreaterThan(MemoryPlan.prune(shape, settings: s).totalBytes, 0)
        XCTAssertLessThan(Date().timeIntervalSince(start), 2)
    }

    func testABudgetBelowThePlanRefusesWithTheEstimateAndWhatToChange() throws {
        let shape = ModelShape(config: LlamaShape.llama2_7b.config, storedBytesPerValue: 2)
        var s = PruneSettings()
        s.stream = true; s.output = "/nowhere"
        var plan = MemoryPlan.prune(shape, settings: s)
        XCTAssertThrowsError(try MemoryBudget.check(&plan, budget: 2 << 30, advice: "use fewer windows")) { e in
            let text = "\(e)"
            XCTAssertTrue(text.contains("needs about \(MemorySize.describe(plan.totalBytes))"), text)
            XCTAssertTrue(text.contains("budget is 2.00 GiB") && text.hasSuffix("use fewer windows"), text)
            XCTAssertFalse(text.contains("\n"))
        }
        XCTAssertNoThrow(try MemoryBudget.check(&plan, budget: 8 << 30, advice: ""))
        XCTAssertEqual(plan.budgetBytes, 8 << 30)
    }

    /// Streamed perplexity holds every window's hidden state at each block; in memory one window.
    func testPerplexityPlanCountsWindowsOnlyWhenStreamed() {
        let shape = ModelShape(config: LlamaShape.tinyllama_1_1b.config, storedBytesPerValue: 2)
        var s = PerplexitySettings(windows: 4)
        XCTAssertNil(part(MemoryPlan.perplexity(shape, settings: s), "perplexity windows' hidden"))
        s.stream = true
        XCTAssertEqual(part(MemoryPlan.perplexity(shape, settings: s), "perplexity windows' hidden"), 4 * 2048 * 2048 * 4)
        XCTAssertEqual(part(MemoryPlan.perplexity(shape, settings: s), "logits of 128"), 128 * 32000 * 4)
    }

    func testThePlanRoundTripsThroughTheRunRecordJSON() throws {
        var plan = MemoryPlan.prune(ModelShape(config: LlamaShape.smollm2_135m.config, storedBytesPerValue: 4), settings: PruneSettings())
        try MemoryBudget.check(&plan, budget: 64 << 30, advice: "")
        let back = try JSONDecoder().decode(MemoryPlan.self, from: JSONEncoder().encode(plan))
        XCTAssertEqual(back.parts.map(\.name), plan.parts.map(\.name))
        XCTAssertEqual(Double(back.totalBytes), Double(plan.totalBytes), accuracy: Double(plan.parts.count) * 0.06 * 1_048_576)
        XCTAssertEqual(back.budgetBytes, 64 << 30)
    }
}
