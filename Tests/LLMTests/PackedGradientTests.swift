import XCTest
import Compute
import LLM
import ModelIO

/// A micro-batch packed into one pass (rows end to end, attention and positions per sequence)
/// gives the sums and gradients of running its sequences one by one: LoRA adapters, full
/// parameters, labels with ignored prompts, and distillation from a dense teacher.
final class PackedGradientTests: XCTestCase {
    func batch() -> [TrainingExample] {
        let a: [Int32] = (0..<17).map { Int32(($0 * 5 + 1) % 48) }
        let b: [Int32] = (0..<9).map { Int32(($0 * 11 + 4) % 48) }
        let c: [Int32] = (0..<24).map { Int32(($0 * 3 + 7) % 48) }
        var labelled = TrainingExample(window: c)
        for i in 0..<6 { labelled.labels[i] = TrainingExample.ignored }
        return [TrainingExample(window: a), TrainingExample(window: b), labelled]
    }

    func compare(_ m: LanguageModel, _ trainable: TrainableParameters, distillation: Distillation?, _ label: String) throws {
        let examples = batch()
        let weight = 1 / Float(examples.reduce(0) { $0 + $1.targetCount })
        var packed = trainable.makeGradients(for: m)
        let ps = try m.accumulateGradients(batch: examples, weight: weight, distillation: distillation, into: &packed)
        var single = trainable.makeGradients(for: m)
        var ss = ObjectiveSums()
        for e in examples {
            ss += try m.accumulateGradients(tokens: e.tokens, objective: SequenceObjective(labels: e.labels, weight: weight,
                                                                                         distillation: distillation), into: &single)
        }
        XCTAssertEqual(ps.targets, ss.targets, label)
        XCTAssertEqual(ps.crossEntropy, ss.crossEntropy, accuracy: 1e-4 * ss.crossEntropy, label)
        XCTAssertEqual(ps.kl, ss.kl, accuracy: 1e-4 * max(1e-6, ss.kl), label)
        if distillation != nil { XCTAssertGreaterThan(ss.kl, 0) }
        let scale = single.values.map(abs).max()!
        XCTAssertGreaterThan(scale, 0)
        let worst = zip(packed.values, single.values).reduce(Float(0)) { max($0, abs($1.0 - $1.1)) }
        XCTAssertLessThanOrEqual(worst, 1e-5 * scale, "\(label): packed vs one by one, max|Δ| \(worst) of \(scale)")
    }

    func testPackedEqualsOneByOne() throws {
        let (lora, _) = try RecoveryReferenceTests.withAdapter("llama")
        try compare(lora, .adapters(of: lora), distillation: nil, "LoRA")
        let full = try RecoveryReferenceTests.pruned("llama")
        try compare(full, .full(of: full, targets: nil), distillation: nil, "full")
        let teacher = try RecoveryReferenceTests.dense("llama")
        try compare(full, .full(of: full, targets: nil), distillation: Distillation(teacher: teacher, temperature: 2, weight: 0.5),
                    "distillation")
    }
}
