import ArgumentParser
import Evaluation
import Compute
import Foundation
import LLM
import ModelIO

struct Eval: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Evaluate a model.", subcommands: [Ppl.self])
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
