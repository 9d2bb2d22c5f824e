import ArgumentParser
import Experiments
import Pruning

struct BenchHessian: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hessian",
        abstract: "SparseGPT's Hessian accumulation (XᵀX) speed at SmolLM2's widths (576 and 1536 inputs).")

    @Option(help: "Rows (tokens) per accumulation.") var tokens: Int = 2048
    @Option(parsing: .upToNextOption, help: "Input widths.") var cols: [Int] = [576, 1536]
    @Option(help: "Timed repetitions (after one warm-up).") var repetitions: Int = 3
    @Option(help: "Worker threads (default: all cores).") var threads: Int?
    @Flag(help: "Print one JSON object per width on stdout.") var json = false

    func validate() throws {
        guard tokens >= 1, repetitions >= 1, !cols.isEmpty, cols.allSatisfy({ $0 >= 1 }) else {
            throw ValidationError("need tokens ≥ 1, repetitions ≥ 1 and widths ≥ 1")
        }
    }

    func run() throws {
        for c in cols {
            let r = withEngineThreads(threads ?? defaultEngineThreads) {
                HessianThroughput.measure(tokens: tokens, cols: c, repetitions: repetitions)
            }
            if json { try Terminal.printJSON(r); continue }
            print(String(format: "Hessian add %d tokens × %d: %.3f s (%.1f GFLOP/s effective on the symmetric half)",
                         r.tokens, r.cols, r.secondsPerAdd, r.gflopsPerSecond))
        }
    }
}
