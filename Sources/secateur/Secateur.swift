import ArgumentParser
import Experiments
import Foundation

@main
struct Secateur: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "secateur",
        abstract: "Prune large language models on a CPU and measure what it cost and bought.",
        subcommands: [Fetch.self, Info.self, MakeModel.self, Eval.self, Prune.self, Recover.self, Export.self, Generate.self, Bench.self,
                      Study.self, Results.self, Report.self])

    /// ArgumentParser's `main`, except that errors thrown while a command runs are reported as
    /// exactly one line ("Error: ...", exit status 1): library errors by their description,
    /// Foundation errors by their localized description and file, newlines folded. Argument
    /// errors (parsing, `validate()`, ValidationError) keep ArgumentParser's usage hint.
    static func main() {
        var command: ParsableCommand
        do {
            command = try parseAsRoot()
        } catch {
            exit(withError: error)
        }
        // The run's error is turned into what to exit with, and released, before exiting: a value
        // still alive at a call that never returns is never released (LeakSanitizer reports it).
        if let failure = failure(running: &command) { exit(withError: failure) }
    }

    /// What `command.run()` failed with, as `exit(withError:)` should see it (nil on success).
    private static func failure(running command: inout ParsableCommand) -> Error? {
        do {
            try command.run()
            return nil
        } catch let e as ValidationError {
            return e
        } catch let e as CleanExit {
            return e
        } catch let e as ExitCode {
            return e
        } catch {
            // Help, version and dump-help requests come back from `run()` as ArgumentParser's own
            // (internal) error types; only its `exit` knows how to print them.
            if String(reflecting: type(of: error)).hasPrefix("ArgumentParser.") { return error }
            return RuntimeFailure(error)
        }
    }
}

/// A runtime error as one line of text.
struct RuntimeFailure: LocalizedError {
    let message: String

    init(_ error: Error) {
        var text: String
        if type(of: error) is NSError.Type || error is CocoaError || error is POSIXError {
            let ns = error as NSError
            text = ns.localizedDescription
            if let path = ns.userInfo[NSFilePathErrorKey] as? String ?? (ns.userInfo[NSURLErrorKey] as? URL)?.path,
               !text.contains(path) {
                text += " (\(path))"
            }
        } else if let e = error as? SettingError {
            text = e.description(namingSetting: Self.flag)
        } else {
            text = String(describing: error)
        }
        let folded = text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty }.joined(separator: " ")
        message = folded.isEmpty ? "\(type(of: error))" : folded
    }

    var errorDescription: String? { message }

    /// The option that sets a setting: settings are keyed in snake_case, options in kebab-case.
    static func flag(_ setting: String) -> String { "--" + setting.replacingOccurrences(of: "_", with: "-") }
}

/// Options every model-loading command shares.
struct ModelOptions: ParsableArguments {
    @Option(name: .long, help: "A .gguf file, a Hugging Face model directory, or a cached alias (smollm2-135m).")
    var model: String = "smollm2-135m"

    @Option(name: .long, help: "Worker threads (default: all cores).")
    var threads: Int?

    func validate() throws {
        if let t = threads, t < 1 { throw ValidationError("--threads must be at least 1") }
    }
}
