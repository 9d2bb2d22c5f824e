import ArgumentParser
import Experiments
import Foundation
import LLM

extension ExportFormat: ExpressibleByArgument {}
extension ExportDType: ExpressibleByArgument {}

struct Export: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write a model (pruned or not) as GGUF for llama.cpp or as a Hugging Face directory for transformers.",
        discussion: """
        GGUF: architecture llama or qwen2 when every layer has the same widths, deci (llama.cpp's per-layer \
        heads and FFN widths) when structured pruning made them differ; tokenizer and chat template carried over. \
        HF: config.json, generation_config.json, safetensors (sharded above 2 GiB), tokenizer.json + \
        tokenizer_config.json. transformers needs one width for every layer: --pad-uniform pads removed heads \
        and channels with zeros (same logits, no speed-up).
        """)

    @OptionGroup var options: ModelOptions
    @Option(help: "gguf (llama.cpp) or hf (transformers).") var format: ExportFormat
    @Option(help: "Weight type: f32, f16, bf16, and for GGUF q8_0 or q4_0.") var dtype: ExportDType = .f32
    @Flag(name: .customLong("pad-uniform"), help: "HF: zero-pad layers of different widths up to the widest.") var padUniform = false
    @Option(help: "The GGUF file or model directory to write.") var output: String
    @Flag(help: "HF: read and write one block at a time (models larger than memory; Llama family).") var stream = false
    @Flag(help: "Print the run record as one JSON object on stdout.") var json = false

    func run() throws {
        let settings = ExportSettings(format: format, dtype: dtype, padUniform: padUniform, output: output, threads: options.threads,
                                      stream: stream ? true : nil)
        let record = try ExportRun(settings: settings).run(modelSpec: options.model)
        if json { return try Terminal.printRecord(record) }
        guard case .export(let r) = record.result else { return }
        let types = r.tensorsByType.sorted { $0.key < $1.key }.map { "\($0.value) \($0.key)" }.joined(separator: ", ")
        print("wrote \(r.output) (\(r.format.rawValue), \(r.architecture), \(String(format: "%.1f", Double(r.bytes) / 1_048_576)) MiB)")
        print("tensors \(r.tensors): \(types)")
        for note in r.notes { print("note: \(note)") }
    }
}
