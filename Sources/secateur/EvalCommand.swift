import ArgumentParser
import Evaluation
import Experiments
import Foundation
import LLM

struct Eval: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Evaluate a model.", subcommands: [Ppl.self, Tasks.self])
}

struct Ppl: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Perplexity on WikiText-2, PTB or C4 (non-overlapping windows).",
        discussion: "Protocols: wanda (default; Wanda/SparseGPT code: seqlen 2048, mean of window losses) and llm-pruner (LLM-Pruner's evaluator: PTB validation, seqlen 128).")

    @OptionGroup var options: ModelOptions
    @Option(help: "wikitext2, ptb or c4.") var dataset: PerplexityDataset = .wikitext2
    @Option(name: .customLong("protocol"), help: "wanda or llm-pruner.") var proto: PerplexityProtocol = .wanda
    @Option(help: "Window length in tokens (default: 2048 for wanda, 128 for llm-pruner).") var seqlen: Int?
    @Option(help: "Evaluate only the first N windows.") var windows: Int?
    @Option(help: "Data folder (default $SECATEUR_DATA, else $SECATEUR_HOME/data).") var dataDir: String?
    @Option(help: "Encoding the matrices run in: f32, f16, bf16, q8_0, q4_0, or native (as the model file stores them).", transform: WeightEncoding.parseArgument) var weights: WeightEncoding?
    @Option(help: "prefill (each window in one forward) or decode (one token at a time through the KV cache, as generate runs).") var pass: PerplexityPass = .prefill
    @Flag(help: "Stream the blocks from the checkpoint one at a time (models larger than memory; prefill pass; Llama family).") var stream = false
    @Option(name: .customLong("memory-budget"), help: "Memory the run may use, e.g. 12G (default: the machine's memory less 10 %); a run whose memory plan exceeds it is refused before loading.") var memoryBudget: MemoryAmount?
    @Flag(help: "Print the run record as one JSON object on stdout.") var json = false

    func validate() throws {
        if let s = seqlen, s < 2 { throw ValidationError("--seqlen must be at least 2") }
        if let w = windows, w < 1 { throw ValidationError("--windows must be at least 1") }
    }

    func run() throws {
        var settings = PerplexitySettings(dataset: dataset, protocol: proto, seqlen: seqlen, windows: windows,
                                          dataDirectory: dataDir, threads: options.threads)
        settings.weights = weights
        settings.pass = pass == .prefill ? nil : pass
        settings.stream = stream ? true : nil
        settings.memoryBudget = memoryBudget?.bytes
        let record = try PerplexityRun(settings: settings).run(modelSpec: options.model, progress: ProgressPrinter().handler)
        if json { return try Terminal.printRecord(record) }
        guard case .evalPerplexity(let r) = record.result else { return }
        print(String(format: "%@ perplexity: %.4f  (%d windows × %d tokens, %@ protocol, %@ pass, %.1f tok/s, %.1f s)",
                     r.dataset, r.ppl, r.windows, r.seqlen, r.protocol, pass.rawValue, r.tokensPerSecond, r.seconds))
    }
}

struct Tasks: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Zero-shot multiple-choice tasks, LAMBADA and TruthfulQA, scored as lm-evaluation-harness v0.4 does.",
        discussion: """
        Tasks: \(EvalTask.names.joined(separator: ", ")); "all" is the zero-shot set \
        \(ZeroShotTask.names.joined(separator: ", ")) (the default). The average covers those only: it takes acc_norm for \
        hellaswag, arc_challenge and openbookqa and acc for the others (the LLM-Pruner/Wanda tables). \
        lambada_openai reports acc (greedy last word) and perplexity; truthfulqa_mc1 acc; truthfulqa_mc2 acc, \
        the normalised probability mass on the true answers.
        """)

    @OptionGroup var options: ModelOptions
    @Option(help: "Comma-separated task names; all: the zero-shot set.") var tasks = TaskListArgument(EvalTask.defaults)
    @Option(help: "Evaluate only the first N documents of each task.") var limit: Int?
    @Option(help: "Documents scored per batch (their tokens packed into forwards of at most --max-rows rows).") var batchSize: Int = 32
    @Option(help: "Token rows per packed forward.") var maxRows: Int = 4096
    @Option(help: "Write one JSON line per scored document to this file.") var logSamples: String?
    @Option(help: "Data folder (default $SECATEUR_DATA, else $SECATEUR_HOME/data).") var dataDir: String?
    @Option(help: "Longest input in tokens (longer ones are cut on the left, as lm-eval does); default: the model's context length.") var maxLength: Int?
    @Option(help: "Encoding the matrices run in: f32, f16, bf16, q8_0, q4_0, or native (as the model file stores them).", transform: WeightEncoding.parseArgument) var weights: WeightEncoding?
    @Flag(help: "Print the run record as one JSON object on stdout.") var json = false

    func validate() throws {
        if let l = limit, l < 1 { throw ValidationError("--limit must be at least 1") }
        if batchSize < 1 { throw ValidationError("--batch-size must be at least 1") }
        if maxRows < 1 { throw ValidationError("--max-rows must be at least 1") }
        if let maxLength, maxLength < 2 { throw ValidationError("--max-length must be at least 2") }
    }

    func run() throws {
        var s = TaskSettings()
        s.tasks = tasks.tasks; s.limit = limit; s.batchSize = batchSize; s.maxRows = maxRows; s.maxLength = maxLength
        s.logSamples = logSamples; s.dataDirectory = dataDir; s.threads = options.threads; s.weights = weights
        let record = try TaskRun(settings: s).run(modelSpec: options.model, progress: ProgressPrinter().handler)
        if json { return try Terminal.printRecord(record) }
        guard case .evalTasks(let r) = record.result else { return }
        print("|     Task       |   n  |  acc   | ± stderr | acc_norm | ± stderr | reported |")
        print("|----------------|-----:|-------:|---------:|---------:|---------:|----------|")
        for t in record.metrics.tasks {
            let norm = t.accNorm.map { String(format: "%8.4f", $0) } ?? "       –"
            let normErr = t.accNormStderr.map { String(format: "%8.4f", $0) } ?? "       –"
            print("| " + t.task.padding(toLength: 14, withPad: " ", startingAt: 0) + String(format: " | %4ld | %.4f | %8.4f | ", t.n, t.acc, t.accStderr)
                  + norm + " | " + normErr + " | " + t.reported.padding(toLength: 8, withPad: " ", startingAt: 0) + " |")
        }
        for t in record.metrics.tasks {
            if let p = t.perplexity { print(String(format: "%@ perplexity: %.4f", t.task, p)) }
        }
        let zeroShot = record.metrics.tasks.filter { ZeroShotTask(rawValue: $0.task) != nil }.count
        if let average = r.average {
            print(String(format: "average of the reported metrics over %ld zero-shot tasks: %.4f  (%.1f s)", zeroShot, average, r.seconds))
        } else {
            print(String(format: "no zero-shot task, no average  (%.1f s)", r.seconds))
        }
    }
}
