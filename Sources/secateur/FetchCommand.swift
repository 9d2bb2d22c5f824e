import ArgumentParser
import ModelIO

struct Fetch: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Install a known model into the model cache ($SECATEUR_HOME/models).",
        discussion: "Known: " + KnownModel.all.map { "\($0.alias) — \($0.description)" }.joined(separator: "; "))

    @Argument(help: "Model alias.")
    var alias: String = "smollm2-135m"

    @Option(help: "Python interpreter with pip.")
    var python: String = "python3"

    func run() throws {
        let path = try ModelCache.fetch(alias: alias, python: python, log: Terminal.err)
        print(path.path)
    }
}
