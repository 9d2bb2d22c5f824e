import ArgumentParser
import Foundation
import LLM

struct MakeModel: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "make-model",
        abstract: "Write a random checkpoint with a published model's exact shape (a Hugging Face directory).",
        discussion: "For scale work (memory, streaming, seconds per parameter) where no real weights are reachable. "
            + "Weights N(0, 0.02²) as transformers initialises Llama, norms 1; written a piece at a time, so the "
            + "model is never held in memory. --byte-tokenizer adds a byte-level tokenizer (the model's own is not reachable here).")

    @Option(help: "Shape: \(LlamaShape.allCases.map(\.rawValue).joined(separator: ", ")).") var shape: LlamaShape
    @Flag(help: "Random weights (the only kind this command writes; required so the intent is explicit).") var random = false
    @Option(help: "Seed of the random streams.") var seed: UInt64 = 0
    @Option(help: "f32, f16 or bf16.") var dtype: ExportDType = .bf16
    @Option(help: "Output directory (replaced if it is a model directory).") var output: String
    @Flag(help: "Also write a byte-level tokenizer (each UTF-8 byte one token, ids 0–255) so the model can be calibrated and evaluated on text.") var byteTokenizer = false
    @Option(help: "Largest shard in bytes before a new one starts.") var maxShardBytes: Int = HFExport.defaultMaxShardBytes
    @Flag(help: "Print a JSON summary on stdout.") var json = false

    func validate() throws {
        guard random else { throw ValidationError("make-model writes random weights only; pass --random") }
        guard maxShardBytes > 0 else { throw ValidationError("--max-shard-bytes must be positive") }
    }

    func run() throws {
        let start = Date()
        let s = try RandomCheckpoint.write(config: shape.config, seed: seed, dtype: dtype, to: output, byteTokenizer: byteTokenizer,
                                           maxShardBytes: maxShardBytes)
        let seconds = Date().timeIntervalSince(start)
        if json {
            struct Out: Encodable { var output, shape, dtype: String; var parameters, bytes, shards: Int; var files: [String]; var seconds: Double }
            return try Terminal.printJSON(Out(output: output, shape: shape.rawValue, dtype: dtype.rawValue, parameters: s.parameterCount,
                                              bytes: s.bytes, shards: s.shards, files: s.files, seconds: seconds))
        }
        print(String(format: "wrote %@ (%@, %.2f B parameters, %@, %d shard(s), %.2f GB) in %.1f s",
                     output, shape.rawValue, Double(s.parameterCount) / 1e9, dtype.rawValue, s.shards,
                     Double(s.bytes) / 1e9, seconds))
    }
}
