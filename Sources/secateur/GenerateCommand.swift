import ArgumentParser
import Compute
import Foundation
import LLM

struct Generate: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Continue a prompt (greedy, or temperature/top-p sampling).")

    @OptionGroup var options: ModelOptions
    @Option(help: "Prompt text.") var prompt: String
    @Option(help: "Tokens to generate.") var maxTokens: Int = 64
    @Option(help: "Sampling temperature (0 = greedy).") var temperature: Float = 0
    @Option(help: "Nucleus sampling mass.") var topP: Float = 0.95
    @Option(help: "Random seed.") var seed: UInt64 = 0
    @Flag(help: "Print one JSON object on stdout.") var json = false

    func validate() throws {
        if prompt.isEmpty { throw ValidationError("--prompt must not be empty") }
        if maxTokens < 1 { throw ValidationError("--max-tokens must be at least 1") }
        if !(topP > 0 && topP <= 1) { throw ValidationError("--top-p must be in (0, 1]") }
        if temperature < 0 { throw ValidationError("--temperature must be ≥ 0") }
    }

    func run() throws {
        if let t = options.threads { Parallelism.setThreads(t) }
        let loaded = try ModelLoader.load(options.model)
        let ids = loaded.tokenizer.encode(prompt)
        let context = loaded.model.maxPositions
        guard ids.count + maxTokens <= context else {
            throw CLIError("the prompt (\(ids.count) tokens) plus --max-tokens \(maxTokens) exceeds the context length \(context) of \(loaded.name)")
        }
        var sampler = Sampler(temperature: temperature, topP: topP, seed: seed)
        let stop: Set<Int32> = loaded.tokenizer.eosTokenID.map { [$0] } ?? []
        let start = Date()
        var produced: [Int32] = []
        if !json { FileHandle.standardOutput.write(prompt.data(using: .utf8)!) }
        let out = try loaded.model.generate(prompt: ids, maxTokens: maxTokens, sampler: &sampler, stop: stop) { t in
            produced.append(t)
            if !json {
                // Print the text that this token completes (decode all and diff: safe for multi-byte pieces).
                let before = loaded.tokenizer.decode(Array(produced.dropLast()))
                let after = loaded.tokenizer.decode(produced)
                if after.hasPrefix(before) { FileHandle.standardOutput.write(String(after.dropFirst(before.count)).data(using: .utf8)!) }
            }
        }
        let secs = Date().timeIntervalSince(start)
        if json {
            struct Out: Encodable { var model: String; var prompt: String; var text: String; var tokens: Int; var seconds: Double; var tokens_per_second: Double }
            try Terminal.printJSON(Out(model: loaded.name, prompt: prompt, text: loaded.tokenizer.decode(out), tokens: out.count,
                                       seconds: secs, tokens_per_second: Double(out.count) / max(secs, 1e-9)))
        } else {
            print("")
            Terminal.err(String(format: "%d tokens in %.2f s (%.1f tok/s)", out.count, secs, Double(out.count) / max(secs, 1e-9)))
        }
    }
}
