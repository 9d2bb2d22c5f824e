import ArgumentParser

@main
struct Secateur: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "secateur",
        abstract: "Prune large language models on a CPU and measure what it cost and bought.",
        subcommands: [Fetch.self, Info.self, Eval.self, Generate.self])
}

/// Options every model-loading command shares.
struct ModelOptions: ParsableArguments {
    @Option(name: .long, help: "A .gguf file, a Hugging Face model directory, or a cached alias (smollm2-135m).")
    var model: String = "smollm2-135m"

    @Option(name: .long, help: "Worker threads (default: all cores).")
    var threads: Int?
}
