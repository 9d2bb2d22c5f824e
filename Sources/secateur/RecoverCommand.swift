import ArgumentParser
import Compute
import Evaluation
import Experiments
import Foundation
import LLM

extension RecoveryMethod: ExpressibleByArgument {}
extension LearningRateSchedule: ExpressibleByArgument {}

/// Set by SIGINT; the trainer stops before its next step (the last checkpoint stays whole).
nonisolated(unsafe) private var interruptRequested: sig_atomic_t = 0

struct Recover: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Recover a pruned model by fine-tuning that keeps every pruned weight at zero (LoRA or full, optional distillation).",
        discussion: "Writes the merged model (W + mask ⊙ ΔW), the LoRA adapter in PEFT's format, and recovery.json (curves, tokens, seconds, zeros kept) to --output.")

    @OptionGroup var options: ModelOptions
    @Option(help: "lora (adapters on frozen weights, merged with the mask) or full (the weights themselves, pruned entries frozen).") var method: RecoveryMethod = .lora
    @Option(help: "LoRA rank.") var rank: Int = 8
    @Option(help: "LoRA alpha (scaling alpha / rank).") var alpha: Float = 16
    @Option(help: "LoRA dropout on the adapter input.") var dropout: Float = 0.05
    @Option(help: "Projections to train, e.g. q,k,v,o,gate,up,down or the model's module names (q_proj, fc1, …); default: all.") var targets: String?
    @Option(help: "Peak learning rate (AdamW).") var lr: Float = 1e-4
    @Option(name: .customLong("weight-decay"), help: "AdamW decoupled weight decay.") var weightDecay: Float = 0
    @Option(help: "Learning-rate schedule after warm-up: constant, linear or cosine.") var schedule: LearningRateSchedule = .linear
    @Option(name: .customLong("warmup-steps"), help: "Linear warm-up steps.") var warmupSteps: Int = 0
    @Option(name: .customLong("max-grad-norm"), help: "Clip the global gradient norm to this (0: no clipping).") var maxGradNorm: Float = 1
    @Option(name: .customLong("batch-size"), help: "Sequences per micro-batch.") var batchSize: Int = 1
    @Option(name: .customLong("gradient-accumulation"), help: "Micro-batches per optimizer step.") var gradientAccumulation: Int = 1
    @Option(help: "Optimizer steps (default: --epochs passes over the training examples).") var steps: Int?
    @Option(help: "Passes over the training examples when --steps is not given.") var epochs: Int = 1
    @Option(help: "Training data: c4, bookcorpus, wikitext2, or a file (.txt, .jsonl with \"text\", Alpaca-format .json).") var data: String = "c4"
    @Option(help: "Window length in tokens (Alpaca: the cutoff length).") var seqlen: Int = 256
    @Option(name: .customLong("max-examples"), help: "At most this many training examples.") var maxExamples: Int?
    @Option(name: .customLong("val-windows"), help: "Examples held out for validation.") var valWindows: Int = 0
    @Flag(name: .customLong("train-on-inputs"), help: "Alpaca: train on the prompt too (LLM-Pruner's train_on_inputs).") var trainOnInputs = false
    @Option(help: "Dense model to distil from (same vocabulary).") var teacher: String?
    @Option(name: .customLong("kd-temperature"), help: "Distillation temperature τ.") var kdTemperature: Float = 2
    @Option(name: .customLong("kd-weight"), help: "Distillation weight w: (1 − w)·CE + w·τ²·KL.") var kdWeight: Float = 0.5
    @Option(name: .customLong("eval-every"), help: "Validate every this many steps.") var evalEvery: Int?
    @Option(help: "Stop after this many validations without improvement (the best parameters are kept).") var patience: Int?
    @Option(name: .customLong("checkpoint-every"), help: "Write a resumable checkpoint to --output every this many steps.") var checkpointEvery: Int?
    @Option(help: "Continue from this checkpoint (same settings and data).") var resume: String?
    @Option(help: "Seed for the data order, adapter initialisation and dropout.") var seed: UInt64 = 0
    @Option(help: "Evaluate perplexity before and after on this dataset (wikitext2, ptb or c4).") var eval: PerplexityDataset?
    @Option(name: .customLong("eval-seqlen"), help: "Perplexity window length for --eval (default 2048).") var evalSeqlen: Int?
    @Option(help: "Perplexity windows for --eval.") var windows: Int = 16
    @Option(help: "Write the recovered model here.") var output: String?
    @Option(help: "Data folder (default $SECATEUR_DATA, else $SECATEUR_HOME/data).") var dataDir: String?
    @Flag(help: "Print the run record as one JSON object on stdout.") var json = false

    func validate() throws {
        if windows < 1 { throw ValidationError("--windows must be at least 1") }
    }

    func run() throws {
        var s = RecoverSettings()
        s.method = method; s.rank = rank; s.alpha = alpha; s.dropout = dropout
        s.targets = targets.map { $0.split(separator: ",").map { String($0).trimmingCharacters(in: .whitespaces) } }
        s.learningRate = lr; s.weightDecay = weightDecay; s.schedule = schedule; s.warmupSteps = warmupSteps
        s.maxGradientNorm = maxGradNorm > 0 ? maxGradNorm : nil
        s.batchSize = batchSize; s.gradientAccumulation = gradientAccumulation; s.steps = steps; s.epochs = epochs
        s.data = RecoveryDataSettings(source: RecoveryDataSource(argument: data), seqlen: seqlen, seed: seed,
                                      maxExamples: maxExamples, validationCount: valWindows, trainOnInputs: trainOnInputs)
        s.teacher = teacher; s.kdTemperature = kdTemperature; s.kdWeight = kdWeight
        s.evaluateEvery = evalEvery; s.patience = patience; s.checkpointEvery = checkpointEvery; s.resume = resume
        s.seed = seed
        s.evaluation = eval.map { PruneEvaluationSettings(dataset: $0, protocol: .wanda, seqlen: evalSeqlen, windows: windows) }
        s.output = output; s.dataDirectory = dataDir; s.threads = options.threads

        signal(SIGINT) { _ in interruptRequested = 1 }
        let record = try RecoverRun(settings: s).run(modelSpec: options.model, progress: ProgressPrinter().handler,
                                                     shouldStop: { interruptRequested != 0 })
        if json { return try Terminal.printRecord(record) }
        guard case .recover(let r) = record.result else { return }
        print(String(format: "%@: %d steps, %d tokens, %.1f s (%.0f tok/s), %ld trainable parameters; zeros kept %ld of %ld",
                     method.rawValue, r.steps, r.tokensSeen, r.trainSeconds, r.tokensPerSecond, r.trainableParameters,
                     r.zerosBefore - r.zerosLost, r.zerosBefore))
        if let v = r.history.validations.first, let best = r.history.bestValidationLoss {
            print(String(format: "validation loss %.4f → %.4f (kept step %d)", v.loss, best, r.history.bestStep))
        }
        if let b = record.metrics.perplexity.first(where: { $0.stage == .beforeRecovery }),
           let a = record.metrics.perplexity.first(where: { $0.stage == .recovered }) {
            print(String(format: "%@ perplexity (%d windows of %d): before %.4f → recovered %.4f", b.dataset, b.windows, b.seqlen,
                         b.value, a.value))
        }
    }
}
