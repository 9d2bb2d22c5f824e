import ArgumentParser
import Compute
import Experiments

struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Measure a model (params, MACs, memory, speed, energy) or this machine.",
        subcommands: [BenchModel.self, BenchGEMM.self, BenchMemory.self, BenchSparse.self, BenchHessian.self], defaultSubcommand: BenchModel.self)
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
        let workers = threads ?? defaultEngineThreads
        let g = withEngineThreads(workers) { GEMMThroughput.measure(m: m, n: n, k: k) }
        if json {
            struct Out: Encodable { var m: Int; var n: Int; var k: Int; var threads: Int; var gflops_per_second: Double }
            try Terminal.printJSON(Out(m: m, n: n, k: k, threads: workers, gflops_per_second: g))
        } else {
            print(String(format: "sgemm %d×%d×%d on %d threads: %.1f GFLOP/s", m, n, k, workers, g))
        }
    }
}

struct BenchMemory: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "memory",
        abstract: "Memory bandwidth (STREAM-style read and triad): the ceiling batch-1 decode is judged against.")

    @Option(help: "MiB per array (far above the last-level cache).") var mib: Int = 256
    @Option(help: "Timed repetitions (the best is reported).") var repetitions: Int = 5
    @Option(help: "Worker threads (default: all cores).") var threads: Int?
    @Flag(help: "Print one JSON object on stdout.") var json = false

    func validate() throws {
        guard mib >= 1, mib <= 1 << 16, repetitions >= 1 else { throw ValidationError("need 1 ≤ --mib ≤ 65536 and --repetitions ≥ 1") }
    }

    func run() throws {
        let m = withEngineThreads(threads ?? defaultEngineThreads) {
            MemoryBandwidth.measure(arrayBytes: mib << 20, repetitions: repetitions)
        }
        if json { return try Terminal.printJSON(m) }
        print(String(format: "memory on %d threads, arrays of %d MiB: read %.1f GB/s, triad %.1f GB/s (best of %d)",
                     m.threads, m.arrayBytes >> 20, m.readGBps, m.triadGBps, m.repetitions))
    }
}

struct BenchSparse: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sparse",
        abstract: "Time one linear-layer product in dense, CSR and packed 2:4 storage, weights streamed from memory.")

    @Option(help: "Output features.") var rows: Int = 1536
    @Option(help: "Input features.") var columns: Int = 576
    @Option(help: "Non-zero fraction of the CSR matrix.") var density: Double = 0.3
    @Option(help: "Input rows (1 = decode, more = prefill).") var tokens: Int = 1
    @Option(help: "Worker threads (default: all cores).") var threads: Int?
    @Flag(help: "Print one JSON object on stdout.") var json = false

    func validate() throws {
        guard rows >= 1, columns >= 4, columns % 4 == 0, tokens >= 1, density > 0, density <= 1 else {
            throw ValidationError("need rows ≥ 1, columns a multiple of 4, tokens ≥ 1, density in (0, 1]")
        }
    }

    func run() throws {
        let r = try withEngineThreads(threads ?? defaultEngineThreads) {
            try SparseThroughput.measure(rows: rows, columns: columns, density: density, tokens: tokens)
        }
        if json { try Terminal.printJSON(r); return }
        var line = String(format: "%d×%d, %d token(s): dense %.1f µs, CSR (density %.2f) %.1f µs (%.2f×), 2:4 %.1f µs (%.2f×)",
                          rows, columns, tokens, r.denseMicroseconds, density, r.csrMicroseconds,
                          r.denseMicroseconds / r.csrMicroseconds, r.nmMicroseconds, r.denseMicroseconds / r.nmMicroseconds)
        if let p = r.packed24Microseconds {
            line += String(format: ", 2:4 decode format %.1f µs (%.2f×)", p, r.denseMicroseconds / p)
        }
        if let b = r.bitmapMicroseconds {
            line += String(format: ", bitmap (density %.2f) %.1f µs (%.2f×)", density, b, r.denseMicroseconds / b)
        }
        print(line)
    }
}
