import Compute
import Foundation

/// Fine-tunes the trainable tensors of a model (LoRA adapters, or the model's own weights with
/// every pruned entry frozen at zero) with AdamW on a set of training sequences:
///
///   for step in 1...steps:
///     g = Σ over the step's sequences ∂L/∂θ, L = mean objective over the step's targets
///     g[pruned] = 0; clip ‖g‖ to maxGradientNorm
///     θ = AdamW(θ, g, lr = schedule(step))          pruned entries never move
///     every evaluateEvery steps: validation CE; keep the best θ; stop when patience runs out
///     every checkpointEvery steps: write θ, AdamW's moments, the step and the history
///
/// Everything a step depends on is a function of (seed, step): the order of sequences is a
/// seeded permutation per epoch, the dropout masks are seeded per sequence, so a run resumed
/// from a checkpoint takes exactly the steps an uninterrupted run takes.
public final class Trainer {
    public let model: LanguageModel
    public let trainable: TrainableParameters
    public let settings: TrainingSettings
    public let train: [TrainingExample]
    public let validation: [TrainingExample]
    public let distillation: Distillation?

    public private(set) var history = TrainingHistory()
    /// Optimizer steps taken.
    public private(set) var step = 0
    private var values: [Float]                 // θ, laid out as `trainable.gather`
    private var optimizer: AdamW
    private var best: [Float]?                  // θ at history.bestStep
    private var validationsSinceBest = 0
    private var order: (epoch: Int, permutation: [Int]) = (-1, [])

    public init(model: LanguageModel, trainable: TrainableParameters, settings: TrainingSettings,
                train: [TrainingExample], validation: [TrainingExample] = [], distillation: Distillation? = nil) throws {
        try settings.validate()
        guard trainable.count > 0 else { throw TrainingError.noTargets }
        guard !train.isEmpty else { throw TrainingError.noTrainingData }
        guard train.count >= settings.sequencesPerStep else {
            throw TrainingError.tooFewExamples(have: train.count, perStep: settings.sequencesPerStep)
        }
        if let d = distillation, d.teacher.vocabSize != model.vocabSize {
            throw TrainingError.teacherVocabulary(student: model.vocabSize, teacher: d.teacher.vocabSize)
        }
        self.model = model; self.trainable = trainable; self.settings = settings
        self.train = train; self.validation = validation; self.distillation = distillation
        values = trainable.gather(from: model)
        optimizer = AdamW(settings: settings.optimizer, parameterCount: trainable.count)
    }

    /// Runs the remaining steps (all of them, or those after a resumed checkpoint).
    /// `checkpoint` is the file checkpoints go to; `shouldStop` is asked before every step
    /// (an interrupt: the last checkpoint stays usable). Leaves the kept parameters (the
    /// best validated ones, else the last) in the model.
    @discardableResult
    public func run(checkpoint: String? = nil, progress: (TrainingProgress) -> Void = { _ in },
                    shouldStop: () -> Bool = { false }) throws -> TrainingHistory {
        let start = Date(), tokensAtStart = history.tokensSeen, stepAtStart = step
        if step == 0, history.validations.isEmpty, !validation.isEmpty { try validate() }
        while step < settings.steps, !history.stoppedEarly {
            if shouldStop() { break }
            let loss = try takeStep()
            var validated: Double?
            if let e = settings.evaluateEvery, step % e == 0 || step == settings.steps, !validation.isEmpty {
                validated = try validate()
            }
            if let c = settings.checkpointEvery, let checkpoint, step % c == 0 || step == settings.steps {
                try save(to: checkpoint)
            }
            let seconds = Date().timeIntervalSince(start)
            let rate = Double(history.tokensSeen - tokensAtStart) / max(seconds, 1e-9)
            let perStep = seconds / Double(step - stepAtStart)
            progress(TrainingProgress(step: step, totalSteps: settings.steps, loss: loss,
                                      learningRate: history.steps.last!.learningRate, validationLoss: validated,
                                      tokensPerSecond: rate, secondsLeft: perStep * Double(settings.steps - step)))
        }
        let finished = step == settings.steps || history.stoppedEarly
        if finished, !validation.isEmpty, history.validations.last?.step != step { try validate() }
        if finished { keepBest() }
        return history
    }

    /// The step's sequences, in the seeded order of their epoch.
    private func sequences(ofStep s: Int) -> [Int] {
        let k = settings.sequencesPerStep
        return (0..<k).map { j in
            let q = s * k + j, epoch = q / train.count
            guard settings.shuffle else { return q % train.count }
            if order.epoch != epoch { order = (epoch, Self.permutation(train.count, seed: settings.seed, epoch: epoch)) }
            return order.permutation[q % train.count]
        }
    }

    /// Fisher–Yates with our own generator (the standard library's shuffle may change).
    static func permutation(_ n: Int, seed: UInt64, epoch: Int) -> [Int] {
        var p = Array(0..<n)
        var rng = SeededRNG(seed: seed ^ (0xA076_1D64_78BD_642F &* UInt64(epoch + 1)))
        for i in stride(from: n - 1, to: 0, by: -1) { p.swapAt(i, Int(rng.next() % UInt64(i + 1))) }
        return p
    }

    /// One optimizer step; returns its mean objective.
    private func takeStep() throws -> Double {
        let chosen = sequences(ofStep: step)
        let targets = chosen.reduce(0) { $0 + train[$1].targetCount }
        var gradients = trainable.makeGradients(for: model)
        var sums = ObjectiveSums(), tokens = 0
        for m in 0..<settings.gradientAccumulation {
            let micro = chosen[(m * settings.batchSize)..<((m + 1) * settings.batchSize)].map { train[$0] }
            model.setAdapterDropoutSeed(settings.seed &+ UInt64(step * settings.gradientAccumulation + m) &* 0x2545_F491_4F6C_DD1D)
            // One sequence per pass: the packed pass (`accumulateGradients(batch:)`, equal gradients)
            // was not faster in a first measurement on SmolLM2-135M (batch 8 × 256; noisy machine),
            // so the trainer keeps the path the benchmarks measured until a bench settles it.
            for e in micro {
                sums += try model.accumulateGradients(batch: [e], weight: 1 / Float(max(1, targets)),
                                                      distillation: distillation, into: &gradients)
            }
            tokens += micro.reduce(0) { $0 + $1.tokens.count }
        }
        model.setAdapterDropoutSeed(nil)
        let loss = sums.meanLoss(distillation: distillation)
        guard loss.isFinite else { throw TrainingError.nonFiniteLoss(step: step + 1) }
        let lr = settings.schedule.learningRate(step: step, peak: settings.optimizer.learningRate,
                                                warmupSteps: settings.warmupSteps, totalSteps: settings.steps)
        let n = trainable.count
        var norm: Float = 0
        gradients.values.withUnsafeMutableBufferPointer { g in
            if let frozen = trainable.frozenZeros { for j in 0..<n where frozen[j] { g[j] = 0 } }
            norm = clipGradientNorm(g.baseAddress!, count: n, maxNorm: settings.maxGradientNorm)
            values.withUnsafeMutableBufferPointer { p in
                if let frozen = trainable.frozenZeros {
                    frozen.withUnsafeBufferPointer { f in
                        optimizer.step(parameters: p.baseAddress!, gradients: g.baseAddress!, count: n,
                                       learningRate: lr, frozen: f.baseAddress!)
                    }
                } else {
                    optimizer.step(parameters: p.baseAddress!, gradients: g.baseAddress!, count: n, learningRate: lr)
                }
            }
        }
        trainable.scatter(values, into: model)
        step += 1
        history.steps.append(.init(step: step, loss: loss, learningRate: lr, gradientNorm: norm,
                                   tokensSeen: history.tokensSeen + tokens))
        return loss
    }

    /// Mean next-token cross-entropy over the held-out sequences (no dropout, no teacher).
    public func validationLoss() throws -> Double {
        model.setAdapterDropoutSeed(nil)
        var sum = 0.0, count = 0
        for e in validation {
            var h = try model.embed(e.tokens)
            try model.runLayers(0..<model.layerCount, hidden: &h)
            let targets = Array(e.labels.dropFirst()) + [-1]
            for (x, t) in zip(model.nextTokenNLL(hidden: h, targets: targets), targets) where t >= 0 {
                sum += Double(x); count += 1
            }
        }
        return count > 0 ? sum / Double(count) : .nan
    }

    @discardableResult
    private func validate() throws -> Double {
        let loss = try validationLoss()
        history.validations.append(.init(step: step, loss: loss))
        if loss.isFinite, loss < (history.bestValidationLoss ?? .infinity) {
            history.bestValidationLoss = loss
            history.bestStep = step
            best = values                       // later steps move θ on; this one is kept
            validationsSinceBest = 0
        } else {
            validationsSinceBest += 1
            if let p = settings.patience, validationsSinceBest >= p { history.stoppedEarly = true }
        }
        return loss
    }

    // What a checkpoint reads and restores (TrainingCheckpoint.swift).
    var optimizerState: AdamWState { optimizer.state }
    var currentValues: [Float] { values }
    var bestValues: [Float]? { best }
    var validationsSinceBestCount: Int { validationsSinceBest }

    func restore(step: Int, values: [Float], adam: AdamWState, best: [Float]?, history: TrainingHistory,
                 validationsSinceBest: Int) {
        self.step = step; self.values = values; self.best = best; self.history = history
        self.validationsSinceBest = validationsSinceBest
        optimizer = AdamW(settings: settings.optimizer, state: adam)
        trainable.scatter(values, into: model)
    }

    /// Puts the kept parameters in the model: the best validated ones, else the last.
    private func keepBest() {
        guard history.bestValidationLoss != nil, history.bestStep != step, let best else {
            if history.bestValidationLoss == nil { history.bestStep = step }
            return
        }
        values = best
        trainable.scatter(values, into: model)
    }
}
