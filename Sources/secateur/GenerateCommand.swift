import ArgumentParser
import Experiments
import LLM
import Foundation

struct Generate: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Continue a prompt (greedy, or temperature/top-p sampling).")

    @OptionGroup var options: ModelOptions
    @Option(help: "Prompt text.") var prompt: String
    @Option(help: "Tokens to generate.") var maxTokens: Int = 64
    @Option(help: "Sampling temperature (0 = greedy).") var temperature: Float = 0
    @Option(help: "Nucleus sampling mass.") var topP: Float = 0.95
    @Option(help: "Random seed.") var seed: UInt64 = 0
    @Option(help: "Encoding the matrices run in: f32, f16, bf16, q8_0, q4_0, or native (as the model file stores them).", transform: WeightEncoding.parseArgument) var weights: WeightEncoding?
    @Flag(help: "Print the run record as one JSON object on stdout.") var json = false

    func validate() throws {
        if prompt.isEmpty { throw ValidationError("--prompt must not be empty") }
        if maxTokens < 1 { throw ValidationError("--max-tokens must be at least 1") }
        if !(topP > 0 && topP <= 1) { throw ValidationError("--top-p must be in (0, 1]") }
        if temperature < 0 { throw ValidationError("--temperature must be ≥ 0") }
    }

    func run() throws {
        var s = GenerateSettings(prompt: prompt)
        s.maxTokens = maxTokens; s.temperature = temperature; s.topP = topP; s.seed = seed; s.threads = options.threads
        s.weights = weights
        let printer = ProgressPrinter(streamText: !json)
        var promptShown = false
        let record = try GenerateRun(settings: s).run(modelSpec: options.model) { event in
            // The prompt is echoed once the model has loaded, right before its continuation.
            if !json, !promptShown, case .text = event { Terminal.out(prompt); promptShown = true }
            printer(event)
        }
        if json { return try Terminal.printRecord(record) }
        if !promptShown { Terminal.out(prompt) }
        guard case .generate(let r) = record.result else { return }
        print("")
        Terminal.err(String(format: "%d tokens in %.2f s (%.1f tok/s)", r.tokens, r.seconds, r.tokensPerSecond))
    }
}
