import ArgumentParser
import Foundation
import LLM
import ModelIO

struct Info: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Architecture, parameters and tokenizer of a model.")

    @OptionGroup var options: ModelOptions
    @Flag(help: "Print one JSON object on stdout.") var json = false

    func run() throws {
        let loaded = try ModelLoader.load(options.model)
        let info = ModelSummary(loaded)
        if json { try Terminal.printJSON(info); return }
        print(info.text)
    }
}

struct ModelSummary: Encodable {
    var model: String
    var format: String
    var architecture: String
    var layers: Int
    var hidden_size: Int
    var heads: [Int]
    var kv_heads: [Int]
    var head_dim: Int
    var intermediate_sizes: [Int]
    var vocab_size: Int
    var tied_embeddings: Bool
    var rope_theta: Float?
    var params: Int
    var weights_bytes_f32: Int
    var tokenizer: String
    var bos_token_id: Int?
    var eos_token_id: Int?
    var load_seconds: Double

    init(_ l: LoadedModel) {
        let m = l.model, shapes = m.blockShapes
        model = l.name; format = l.format; architecture = m.architecture; layers = m.layerCount
        hidden_size = m.hiddenSize; heads = shapes.map(\.heads); kv_heads = shapes.map(\.kvHeads)
        head_dim = shapes.first?.headDim ?? 0; intermediate_sizes = shapes.map(\.intermediateSize)
        vocab_size = m.vocabSize; tied_embeddings = !m.parameters.contains { $0.role == .head }
        rope_theta = (m.huggingFaceConfig()["rope_theta"] as? Double).map { Float($0) }
        params = l.model.parameterCount; weights_bytes_f32 = params * 4
        tokenizer = l.format == "gguf" ? "from GGUF metadata" : "tokenizer.json"
        bos_token_id = l.tokenizer.bosTokenID.map(Int.init); eos_token_id = l.tokenizer.eosTokenID.map(Int.init)
        load_seconds = l.loadSeconds
    }

    var text: String {
        func uniform(_ a: [Int]) -> String { Set(a).count == 1 ? "\(a[0])" : a.map(String.init).joined(separator: ",") }
        return """
        model          \(model) (\(format))
        architecture   \(architecture), \(layers) layers, hidden \(hidden_size), head_dim \(head_dim)
        heads          \(uniform(heads)) query, \(uniform(kv_heads)) key/value
        mlp            \(uniform(intermediate_sizes))
        vocabulary     \(vocab_size)\(tied_embeddings ? " (embeddings tied to LM head)" : "")
        rope theta     \(rope_theta.map { "\($0)" } ?? "none (learned positions)")
        parameters     \(params) (\(String(format: "%.1f", Double(params) / 1e6)) M), \(String(format: "%.1f", Double(weights_bytes_f32) / 1_048_576)) MiB as float32
        tokenizer      \(tokenizer), bos \(bos_token_id.map(String.init) ?? "none"), eos \(eos_token_id.map(String.init) ?? "none")
        """
    }
}
