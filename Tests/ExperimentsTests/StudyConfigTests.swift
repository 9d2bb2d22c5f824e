import Experiments
import Pruning
import XCTest

/// The study file: grid expansion, YAML 1.2 scalars, per-entry recovery, keys, and the
/// errors a bad file gives (with line and column) before anything runs.
final class StudyConfigTests: XCTestCase {
    func parse(_ yaml: String) throws -> StudyConfig { try StudyConfig.parse(yaml, file: "s.yaml") }

    func error(_ yaml: String, file: StaticString = #filePath, line: UInt = #line) -> String {
        do {
            _ = try parse(yaml)
            XCTFail("expected an error", file: file, line: line)
            return ""
        } catch {
            return "\(error)"
        }
    }

    func testGridExpandsEveryListInWrittenOrder() throws {
        let c = try parse("""
        name: g
        models: [a.gguf, b.gguf]
        seeds: [0, 1]
        pruning:
          - {method: wanda, sparsity: [0.5, 0.7]}
          - {method: [magnitude, ria], pattern: "2:4"}
          - {method: [taylor, l2], ratio: [0.3, 0.4], ratio_mode: [model, layer], attn_layers: 2-5}
        recovery: [none, {method: lora, steps: 3}]
        """)
        // per model: dense + (2 + 2 + 8) pruning × 2 recovery × 2 seeds
        XCTAssertEqual(c.cells.count, 2 * (1 + 12 * 2 * 2))
        let first = c.cells.filter { $0.model == "a.gguf" }
        XCTAssertEqual(first[0].pruning, .dense)
        guard case .unstructured(let w) = first[1].pruning else { return XCTFail("\(first[1].pruning)") }
        XCTAssertEqual(w.method, .wanda); XCTAssertEqual(w.sparsity, 0.5); XCTAssertEqual(w.seed, 0)
        XCTAssertNil(first[1].recovery)
        XCTAssertEqual(first[2].pruning, first[1].pruning.withSeed(1))
        // "2:4" is a pattern (YAML 1.1 would have read 124), and it fixes the sparsity.
        let nm = first.compactMap { c -> PruneSettings? in if case .unstructured(let s) = c.pruning, s.method == .ria { return s }; return nil }
        XCTAssertEqual(nm.first?.pattern, .nOfM(n: 2, m: 4))
        XCTAssertEqual(nm.first?.sparsity, 0.5)
        let structured = first.compactMap { c -> StructuredPruneSettings? in if case .structured(let s) = c.pruning { return s }; return nil }
        XCTAssertEqual(Set(structured.map(\.criterion)), [.taylor, .l2])
        XCTAssertEqual(Set(structured.map(\.ratioMode)), [.model, .layer])
        XCTAssertEqual(structured.first?.attentionLayers, 2...5)
        XCTAssertEqual(first.filter { $0.recovery?.steps == 3 }.count, 24)
    }

    func testUnquotedNMIsAPatternNotASexagesimalNumber() throws {
        let c = try parse("models: [m]\npruning: [{method: wanda, pattern: 4:8}]")
        guard case .unstructured(let s) = c.cells[1].pruning else { return XCTFail() }
        XCTAssertEqual(s.pattern, .nOfM(n: 4, m: 8))
    }

    /// DSnoT's same-sign check and variance power reach the pruner's configuration from a study
    /// entry; left out, they are the reference's defaults (no check, power 1).
    func testDSnoTOptionsReachTheConfiguration() throws {
        let c = try parse("models: [m]\npruning: [{method: dsnot, dsnot_same_sign: true, dsnot_variance_power: 0.5}, {method: dsnot}]")
        guard case .unstructured(let s) = c.cells[1].pruning, case .unstructured(let d) = c.cells[2].pruning else { return XCTFail() }
        XCTAssertTrue(s.configuration.dsnot.sameSign)
        XCTAssertEqual(s.configuration.dsnot.varianceExponent, 0.5)
        XCTAssertEqual(d.configuration.dsnot, DSnoTSettings())
        XCTAssertNotEqual(try c.cells[1].key(modelSHA256: "0"), try c.cells[2].key(modelSHA256: "0"))
    }

    /// `l0_target` (L0 to a shape) reaches the cell's settings, names the cell, and a bad shape is
    /// an error with the file's position.
    func testL0TargetShapeEntries() throws {
        let c = try parse("models: [m]\npruning: [{method: l0, l0_target: [\"layers=1,hidden=24\", \"intermediate=8\"]}]")
        XCTAssertEqual(c.cells.count, 3)
        guard case .structured(let s) = c.cells[1].pruning else { return XCTFail() }
        XCTAssertEqual(s.configuration.l0TargetShape, L0TargetShape(layers: 1, hiddenSize: 24))
        XCTAssertEqual(c.cells.map(\.label), ["dense", "l0 to layers=1,hidden=24", "l0 to intermediate=8"])
        XCTAssertTrue(error("models: [m]\npruning: [{method: l0, l0_target: \"depth=1\"}]").contains("unknown key 'depth'"))
    }

    func testEntryRecoveryReplacesTheStudysAndDistillTeachesFromTheDenseModel() throws {
        let c = try parse("""
        models: [m.gguf]
        pruning:
          - {method: l1, ratio: 0.2}
          - {method: magnitude, sparsity: 0.5, recovery: [none]}
        recovery: [none, {method: distill, steps: 2, data: bookcorpus, seqlen: 64}]
        """)
        XCTAssertEqual(c.cells.count, 1 + 2 + 1)
        let kd = try XCTUnwrap(c.cells.first { $0.recovery != nil })
        XCTAssertEqual(kd.recovery?.teacher, "m.gguf")
        XCTAssertEqual(kd.recovery?.method, .lora)
        XCTAssertEqual(kd.recovery?.data.source, .bookcorpus)
        XCTAssertEqual(kd.recovery?.data.seqlen, 64)
        XCTAssertEqual(kd.recoveryLabel, "lora+kd")
    }

    func testKeyFollowsSettingsAndModelHashNotStudyName() throws {
        let a = try parse("name: one\nmodels: [m]\npruning: [{method: wanda, sparsity: [0.5, 0.6]}]").cells
        let b = try parse("name: two\nmodels: [m]\npruning: [{method: wanda, sparsity: 0.5}]").cells
        XCTAssertEqual(try a[1].key(modelSHA256: "x"), try b[1].key(modelSHA256: "x"))
        XCTAssertNotEqual(try a[1].key(modelSHA256: "x"), try a[2].key(modelSHA256: "x"))
        XCTAssertNotEqual(try a[1].key(modelSHA256: "x"), try a[1].key(modelSHA256: "y"))
        let shorter = try parse("name: one\nmodels: [m]\npruning: [{method: wanda, sparsity: 0.5}]").overriding(taskLimit: 10, windows: 2).cells
        XCTAssertNotEqual(try a[1].key(modelSHA256: "x"), try shorter[1].key(modelSHA256: "x"))
    }

    func testMalformedYAMLGivesLineAndColumn() {
        let e = error("models: [m]\npruning:\n  - {method: wanda, sparsity: [0.5\n")
        XCTAssertTrue(e.contains("s.yaml: malformed YAML at line"), e)
        XCTAssertTrue(e.range(of: #"line \d+, column \d+"#, options: .regularExpression) != nil, e)
    }

    func testUnknownKeysAreNamedWithTheirPlace() {
        var e = error("models: [m]\npruning:\n  - method: wanda\n    sparsty: 0.5\n")
        XCTAssertTrue(e.contains("s.yaml:4:5: unknown key 'sparsty' in pruning[0]"), e)
        XCTAssertTrue(e.contains("sparsity"), e)
        e = error("models: [m]\nevaluaton: {}\n")
        XCTAssertTrue(e.contains("s.yaml:2:1: unknown key 'evaluaton' in the study"), e)
        e = error("models: [m]\npruning: [{method: taylor, ratio: 0.2, nsamples: 4}]\n")
        XCTAssertTrue(e.contains("unknown key 'nsamples'") && e.contains("structured"), e)
        e = error("models: [m]\nrecovery: [{method: lora, rnak: 4}]\n")
        XCTAssertTrue(e.contains("unknown key 'rnak' in recovery[0]"), e)
        e = error("models: [m]\nevaluation: {perplexity: [{dataset: wikitext2, windos: 2}]}\n")
        XCTAssertTrue(e.contains("unknown key 'windos'"), e)
    }

    func testBadValuesAreRefused() {
        XCTAssertTrue(error("models: [m]\npruning: [{method: wandaa}]").contains("unknown pruning method 'wandaa'"))
        XCTAssertTrue(error("models: [m]\npruning: [{method: wanda, sparsity: 1.5}]").contains("sparsity must be in (0, 1)"))
        XCTAssertTrue(error("models: [m]\npruning: [{method: wanda, pattern: \"2:4\", sparsity: 0.7}]").contains("fixes the sparsity"))
        XCTAssertTrue(error("models: [m]\npruning: [{method: l2, ratio: 0.3, mode: blocks}]").contains("one of: block, channel, layer"))
        XCTAssertTrue(error("models: [m]\nevaluation: {tasks: [boolq, mmlu]}").contains("unknown task 'mmlu'"))
        XCTAssertTrue(error("pruning: [{method: wanda}]").contains("needs the key 'models'"))
        XCTAssertTrue(error("models: [m]\nrecovery: [{method: lora, rank: 0}]").contains("rank"))
        XCTAssertTrue(error("models: [m]\nmodels: [n]").contains("appears twice"))
        XCTAssertTrue(error("models: [m, m]").contains("'m' is listed twice"))
        XCTAssertTrue(error("models: [m]\nseeds: []").contains("seeds: an empty list leaves no cells"))
        XCTAssertTrue(error("models: [m]\npruning: [{method: wanda, sparsity: []}]").contains("sparsity: an empty list"))
        XCTAssertTrue(error("models: [m]\ndense: false").contains("no cells"))
        XCTAssertTrue(error("models: [m]\nevaluation: {perplexity: [{dataset: wikitext2, seqlen: 0}]}").contains("seqlen must be ≥ 2"))
        XCTAssertTrue(error("models: [m]\nevaluation: {efficiency: {repetitions: 0}}").contains("repetitions must be ≥ 1"))
        XCTAssertTrue(error("models: [m]\npruning: [{method: wanda, calibration: {datset: c4}}]").contains("unknown key 'datset' in calibration"))
        XCTAssertTrue(error("models: [m]\nrecovery: [{method: lora, data: {source: c4, seqlenn: 8}}]").contains("unknown key 'seqlenn' in recovery[0].data"))
        // A structured-only key on an unstructured method is named, not the method.
        XCTAssertTrue(error("models: [m]\npruning: [{method: wanda, ratio: 0.3}]").contains("unknown key 'ratio' in pruning[0] (unstructured pruning)"))
        XCTAssertTrue(error("name: a b\nmodels: [m]").contains("name: 'a b' must be"))
        XCTAssertTrue(error("models: [m]\nslurm: {partition: \"x\\n#SBATCH --uid=0\"}").contains("slurm.partition"))
    }

    func testEntryDataOverridesComeAfterTheDataMapping() throws {
        let c = try parse("models: [m]\npruning: [{method: magnitude}]\nrecovery: [{method: lora, seqlen: 64, data: {source: bookcorpus, seqlen: 128, max_examples: 3}}]")
        let r = try XCTUnwrap(c.cells.last?.recovery)
        XCTAssertEqual(r.data.seqlen, 64)
        XCTAssertEqual(r.data.source, .bookcorpus)
        XCTAssertEqual(r.data.maxExamples, 3)
    }

    func testPresetsParse() throws {
        let quick = try StudyPreset.quick.config
        XCTAssertEqual(quick.cells.count, 4)
        let seed = try StudyPreset.seedStudy.config
        // 4 structured criteria × 3 ratios × 2 meanings × (none, lora) + 4 methods × 4 patterns/sparsities + dense
        XCTAssertEqual(seed.cells.count, 4 * 3 * 2 * 2 + 4 * 4 + 1)
    }
}

extension CellPruning {
    func withSeed(_ seed: UInt64) -> CellPruning {
        switch self {
        case .dense: return .dense
        case .unstructured(var s): s.seed = seed; return .unstructured(s)
        case .structured(var s): s.seed = seed; return .structured(s)
        }
    }
}
