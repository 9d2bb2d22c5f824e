import Evaluation
import Experiments
import Foundation

/// Text corpora: the first byte picks a perplexity corpus (WikiText-2, PTB under either
/// protocol, C4 validation) or a calibration source (C4 train, WikiText-2 train,
/// BookCorpus); the rest is its file. Accepted text is tokenized and run through the tiny model.
enum CorpusHarness {
    enum Target: CaseIterable {
        case perplexity(String, PerplexityProtocol, file: String)
        case calibration(CalibrationDataset, file: String)

        static var allCases: [Target] {
            [.perplexity("wikitext2", .wanda, file: "wikitext2/wiki.test.raw"),
             .perplexity("ptb", .wanda, file: "ptb/ptb.test.txt"),
             .perplexity("ptb", .llmPruner, file: "ptb/ptb.valid.txt"),
             .perplexity("c4", .wanda, file: "c4/c4-validation.00000-of-00008.json"),
             .calibration(.c4, file: "c4/c4-train.00000-of-01024.first1000.jsonl"),
             .calibration(.wikitext2, file: "wikitext2/wiki.train.raw"),
             .calibration(.bookcorpus, file: "bookcorpus/book10k.txt")]
        }
    }

    static func run(_ input: Data) {
        guard let first = input.first else { return }
        let targets = Target.allCases
        let target = targets[Int(first) % targets.count]
        let rest = Int(first) / targets.count   // window length and count for calibration
        let dir = Scratch.directory()
        let data = DataDirectory(explicit: dir)
        let tiny = TinyModel.shared
        switch target {
        case let .perplexity(dataset, proto, file):
            Scratch.write(Data(input.dropFirst()), file, in: dir)
            guard let text = Refusal.attempt("PerplexityCorpus.text", { try PerplexityCorpus.text(dataset: dataset, protocol: proto, data: data) }) else { return }
            tiny.run(String(text.prefix(256)))
        case let .calibration(dataset, file):
            Scratch.write(Data(input.dropFirst()), file, in: dir)
            let seqlen = 2 + rest % 16
            guard let windows = Refusal.attempt("CalibrationSource.windows", { try CalibrationSource.dataset(dataset).windows(
                nsamples: 1 + rest / 16, seqlen: seqlen, seed: UInt64(first), tokenizer: tiny.tokenizer,
                vocabSize: tiny.model.vocabSize, data: data) }) else { return }
            for w in windows.prefix(2) {
                precondition(w.count == seqlen, "a calibration window of \(w.count) tokens, not \(seqlen)")
                tiny.forward(Array(w.prefix(TinyModel.maxTokens)))
            }
        }
    }
}
