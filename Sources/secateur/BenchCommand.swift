import ArgumentParser
import Compute

struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Measure this machine.", subcommands: [BenchGEMM.self])
}

struct BenchGEMM: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gemm",
        abstract: "sgemm GFLOP/s on the shapes of a Llama forward (the ceiling a forward pass is judged against).")

    @Option(help: "Rows (tokens).") var m: Int = 2048
    @Option(help: "Output features.") var n: Int = 1536
    @Option(help: "Input features.") var k: Int = 576
    @Option(help: "Worker threads (default: all cores).") var threads: Int?
    @Flag(help: "Print one JSON object on stdout.") var json = false

    func run() throws {
        if let t = threads { Parallelism.setThreads(t) }
        let g = GEMMThroughput.measure(m: m, n: n, k: k)
        if json {
            struct Out: Encodable { var m: Int; var n: Int; var k: Int; var threads: Int; var gflops_per_second: Double }
            try Terminal.printJSON(Out(m: m, n: n, k: k, threads: Parallelism.threads, gflops_per_second: g))
        } else {
            print(String(format: "sgemm %d×%d×%d on %d threads: %.1f GFLOP/s", m, n, k, Parallelism.threads, g))
        }
    }
}
