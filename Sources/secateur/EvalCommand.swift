import ArgumentParser
import Evaluation
import Compute
import Foundation
import LLM
import ModelIO

struct Eval: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Evaluate a model.", subcommands: [Ppl.self, Tasks.self])
}

struct Ppl: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Perplexity on WikiText-2, PTB or C4 (non-overlapping windows).",
        discussion: "Protocols: wanda (default; Wanda/SparseGPT code: seqlen 2048, mean of window losses) and llm-pruner (LLM-Pruner's evaluator: PTB validation, seqlen 128).")

    @OptionGroup var options: ModelOptions
    @Option(help: "wikitext2, ptb or c4.") var dataset: String = "wikitext2"
    @Option(name: .customLong("protocol"), help: "wanda or llm-pruner.") var proto: String = "wanda"
    @Option(help: "Window length in tokens (default: 2048 for wanda, 128 for llm-pruner).") var seqlen: Int?
    @Option(help: "Evaluate only the first N windows.") var windows: Int?
    @Option(help: "Data folder (default $SECATEUR_DATA, else $SECATEUR_HOME/data).") var dataDir: String?
    @Flag(help: "Print one JSON object on stdout.") var json = false

    func validate() throws {
        guard PerplexityProtocol(rawValue: proto) != nil else {
            throw ValidationError("unknown protocol '\(proto)'; use wanda or llm-pruner")
        }
        if let s = seqlen, s < 2 { throw ValidationError("--seqlen must be at least 2") }
        if let w = windows, w < 1 { throw ValidationError("--windows must be at least 1") }
        guard PerplexityCorpus.datasets.contains(dataset) else {
            throw ValidationError("unknown dataset '\(dataset)'; supported: \(PerplexityCorpus.datasets.joined(separator: ", "))")
        }
    }

    func run() throws {
        if let t = options.threads { Parallelism.setThreads(t) }
        let p = PerplexityProtocol(rawValue: proto)!
        let len = seqlen ?? p.defaultSeqlen
        let data = DataDirectory(explicit: dataDir)
        let text = try PerplexityCorpus.text(dataset: dataset, protocol: p, data: data)
        let loaded = try ModelLoader.load(options.model)
        let tokens = loaded.tokenizer.encode(text)
        let ws = try Perplexity.windows(tokens: tokens, seqlen: len, limit: windows, dataset: dataset)
        Terminal.err("\(loaded.name): \(dataset) (\(p.rawValue) protocol), \(tokens.count) tokens, \(ws.count) windows of \(len)")
        var bar = ProgressLine(label: "windows", unitsPerStep: len)
        let r = try Perplexity.evaluate(model: loaded.model, modelName: loaded.name, dataset: dataset, protocol: p,
                                        windows: ws) { done, total, secs in bar.update(done: done, total: total, seconds: secs) }
        if json { try Terminal.printJSON(r); return }
        print(String(format: "%@ perplexity: %.4f  (%d windows × %d tokens, %.1f tok/s, %.1f s)",
                     dataset, r.ppl, r.windows, r.seqlen, r.tokensPerSecond, r.seconds))
    }
}

struct Tasks: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Zero-shot multiple-choice tasks, scored as lm-evaluation-harness v0.4 does.",
        discussion: """
        Tasks: \(ZeroShotTask.names.joined(separator: ", ")) (or "all"). The average takes acc_norm for \
        hellaswag, arc_challenge and openbookqa and acc for the others (the LLM-Pruner/Wanda tables).
        """)

    @OptionGroup var options: ModelOptions
    @Option(help: "Comma-separated task names, or all.") var tasks: String = "all"
    @Option(help: "Evaluate only the first N documents of each task.") var limit: Int?
    @Option(help: "Documents scored per batch (their tokens packed into forwards of at most --max-rows rows).") var batchSize: Int = 32
    @Option(help: "Token rows per packed forward.") var maxRows: Int = 4096
    @Option(help: "Write one JSON line per scored document to this file.") var logSamples: String?
    @Option(help: "Data folder (default $SECATEUR_DATA, else $SECATEUR_HOME/data).") var dataDir: String?
    @Option(help: "Longest input in tokens (longer ones are cut on the left, as lm-eval does).") var maxLength: Int = 2048
    @Flag(help: "Print one JSON object on stdout.") var json = false

    func validate() throws {
        if let l = limit, l < 1 { throw ValidationError("--limit must be at least 1") }
        if batchSize < 1 { throw ValidationError("--batch-size must be at least 1") }
        if maxRows < 1 { throw ValidationError("--max-rows must be at least 1") }
        if maxLength < 2 { throw ValidationError("--max-length must be at least 2") }
        do { _ = try TaskEvaluation.parseTasks(tasks) } catch { throw ValidationError("\(error)") }
        if (try? TaskEvaluation.parseTasks(tasks))?.isEmpty ?? true { throw ValidationError("--tasks names no task") }
    }

    struct Output: Encodable {
        struct Task: Encodable { var acc, acc_stderr, acc_norm, acc_norm_stderr: Double; var n: Int; var metric: String; var seconds: Double }
        var model: String
        var tasks: [String: Task]
        var average: Double
        var seconds: Double
    }

    func run() throws {
        if let t = options.threads { Parallelism.setThreads(t) }
        let selected = try TaskEvaluation.parseTasks(tasks)
        let data = DataDirectory(explicit: dataDir)
        let docs = try selected.map { try $0.documents(data: data, limit: limit) }
        let loaded = try ModelLoader.load(options.model)
        var sink: FileHandle?
        if let logSamples {
            guard FileManager.default.createFile(atPath: logSamples, contents: nil) , let h = FileHandle(forWritingAtPath: logSamples) else {
                throw CLIError("cannot write --log-samples file \(logSamples)")
            }
            sink = h
        }
        defer { try? sink?.close() }
        let enc = JSONEncoder()
        enc.outputFormatting = [.sortedKeys]
        let start = Date()
        var results: [(ZeroShotTask, TaskResult)] = []
        for (task, ds) in zip(selected, docs) {
            Terminal.err("\(loaded.name): \(task.rawValue), \(ds.count) documents")
            var bar = ProgressLine(label: task.rawValue, unitsPerStep: 1, unit: "doc")
            let r = try TaskEvaluation.evaluate(task: task, documents: ds, model: loaded.model, tokenizer: loaded.tokenizer,
                                                batchSize: batchSize, maxLength: maxLength, rowsPerForward: maxRows,
                                                progress: { bar.update(done: $0, total: $1, seconds: $2) },
                                                sample: { s in sink?.write(try enc.encode(s) + Data("\n".utf8)) })
            results.append((task, r))
        }
        let avg = TaskEvaluation.average(results.map(\.1))
        let seconds = Date().timeIntervalSince(start)
        if json {
            var out = Output(model: loaded.name, tasks: [:], average: avg, seconds: seconds)
            for (t, r) in results {
                out.tasks[t.rawValue] = .init(acc: r.acc, acc_stderr: r.acc_stderr, acc_norm: r.acc_norm,
                                              acc_norm_stderr: r.acc_norm_stderr, n: r.n, metric: r.metric.rawValue, seconds: r.seconds)
            }
            try Terminal.printJSON(out)
            return
        }
        print("|     Task      |   n  |  acc   | ± stderr | acc_norm | ± stderr | reported |")
        print("|---------------|-----:|-------:|---------:|---------:|---------:|----------|")
        for (t, r) in results {
            print("| " + t.rawValue.padding(toLength: 13, withPad: " ", startingAt: 0) + String(format: " | %4d | %.4f | %8.4f | %8.4f | %8.4f | ", r.n, r.acc, r.acc_stderr,
                         r.acc_norm, r.acc_norm_stderr) + r.metric.rawValue.padding(toLength: 8, withPad: " ", startingAt: 0) + " |")
        }
        print(String(format: "average of the reported metrics over %d tasks: %.4f  (%.1f s)", results.count, avg, seconds))
    }
}
