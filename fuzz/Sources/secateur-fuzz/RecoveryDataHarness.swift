import Evaluation
import Foundation

/// Recovery fine-tuning data a user brings: the first byte picks the file name (and so the
/// format told from it: Alpaca `.json`, `.jsonl`, `.txt`) and the window length; the rest is
/// the file. An accepted dataset's examples are run through the tiny model.
enum RecoveryDataHarness {
    static let names = ["data.json", "data.jsonl", "data.txt", "data"]

    static func run(_ input: Data) {
        guard let first = input.first else { return }
        let name = names[Int(first & 3)]
        let seqlen = 2 + Int(first >> 2) % 30
        let path = Scratch.write(Data(input.dropFirst()), name, in: Scratch.directory())
        let settings = RecoveryDataSettings(source: .file(path), seqlen: seqlen, seed: UInt64(first),
                                            maxExamples: 8, validationCount: Int(first) % 2)
        let tiny = TinyModel.shared
        guard let dataset = Refusal.attempt("RecoveryDataset", { try RecoveryDataset(settings: settings, tokenizer: tiny.tokenizer,
                                                                              data: DataDirectory(explicit: Scratch.root)) }) else { return }
        _ = dataset.description
        for example in (dataset.train + dataset.validation).prefix(4) {
            precondition(example.tokens.count <= seqlen, "an example is longer than its window")
            tiny.forward(Array(example.tokens.prefix(TinyModel.maxTokens)))
        }
    }
}
