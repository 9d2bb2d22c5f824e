import ArgumentParser
import Experiments
import Foundation

struct Info: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Architecture, parameters and tokenizer of a model.")

    @OptionGroup var options: ModelOptions
    @Flag(help: "Print the run record as one JSON object on stdout.") var json = false

    func run() throws {
        let record = try InfoRun(settings: InfoSettings(threads: options.threads)).run(modelSpec: options.model)
        if json { return try Terminal.printRecord(record) }
        guard case .info(let d) = record.result else { return }
        print(Self.text(d, model: record.model))
    }

    static func text(_ d: ModelDescription, model: ModelIdentity) -> String {
        func uniform(_ a: [Int]) -> String { Set(a).count == 1 ? "\(a[0])" : a.map(String.init).joined(separator: ",") }
        return """
        model          \(model.name) (\(d.format))
        architecture   \(d.architecture), \(d.layers) layers, hidden \(d.hiddenSize), head_dim \(d.headDim)
        heads          \(uniform(d.heads)) query, \(uniform(d.kvHeads)) key/value
        mlp            \(uniform(d.intermediateSizes))
        vocabulary     \(d.vocabSize)\(d.tiedEmbeddings ? " (embeddings tied to LM head)" : "")
        rope theta     \(d.ropeTheta.map { "\($0)" } ?? "none (learned positions)")
        parameters     \(d.params) (\(String(format: "%.1f", Double(d.params) / 1e6)) M), \(String(format: "%.1f", Double(d.weightsBytesF32) / 1_048_576)) MiB as float32
        tokenizer      \(d.tokenizer), bos \(d.bosTokenID.map(String.init) ?? "none"), eos \(d.eosTokenID.map(String.init) ?? "none")
        source         \(model.sourcePath), sha256 \(model.sourceSHA256 ?? "n/a")
        """
    }
}
