import Evaluation
import Foundation
import LLM
import ModelIO
import Pruning

/// A text that calibration windows are drawn from. Never an evaluation split: calibrating on
/// the text a run is scored on would flatter the result.
public enum CalibrationDataset: String, CaseIterable, Codable, Sendable {
    /// The C4 train shard 00000 (first 1000 documents), as the Wanda/SparseGPT code uses.
    case c4
    /// The WikiText-2 train split (`wikitext2/wiki.train.raw`; absent from the shared data folder).
    case wikitext2
    /// `bookcorpus/book10k.txt`: 10,000 BookCorpus sentences, the kind of text LLM-Pruner calibrates on.
    case bookcorpus

    /// The file the windows are drawn from (relative to the data folder) and what it is.
    var file: (path: String, hint: String) {
        switch self {
        case .c4: return ("c4/c4-train.00000-of-01024.first1000.jsonl", "C4 train shard for calibration")
        case .wikitext2: return ("wikitext2/wiki.train.raw", "WikiText-2 train split for calibration (the test split is not used for calibration)")
        case .bookcorpus: return ("bookcorpus/book10k.txt", "BookCorpus sentences for calibration")
        }
    }

    /// Fails, naming the expected file, when the data folder lacks it (a study checks this before running).
    public func checkPresent(data: DataDirectory) throws { _ = try data.file(file.path, hint: file.hint) }
}

/// Where a run's calibration windows come from.
public enum CalibrationSource: Sendable, Equatable, Codable, CustomStringConvertible {
    case dataset(CalibrationDataset)
    /// Little-endian int32 token ids, N × seqlen, no header (bench/make_calib_tokens.py writes
    /// them with the reference code's own sampler, so a run sees exactly its windows).
    case tokenFile(String)

    /// `nsamples` windows of `seqlen` tokens, drawn with `seed`.
    ///
    /// C4: the `get_c4` sampling (a random document longer than `seqlen`, a random window in it).
    /// WikiText-2 and BookCorpus: the `get_wikitext2` sampling over one token stream (rows or
    /// sentences joined with a space), each window at a random position. BookCorpus is read as
    /// a stream rather than sentence by sentence because its lines are single sentences: only
    /// about 20 of the 10,000 reach 64 tokens and none reaches 2048, so LLM-Pruner's draw of
    /// whole sentences of at least `seqlen` tokens would sample a handful of outliers, or fail.
    public func windows(nsamples: Int, seqlen: Int, seed: UInt64, tokenizer: Tokenizer, vocabSize: Int,
                        data: DataDirectory) throws -> [[Int32]] {
        switch self {
        case .tokenFile(let path):
            return try Calibration.fromTokenFile(path, seqlen: seqlen, nsamples: nsamples, vocabSize: vocabSize)
        case .dataset(.c4):
            let f = try data.file(CalibrationDataset.c4.file.path, hint: CalibrationDataset.c4.file.hint)
            return try Calibration.sample(documents: try JSONLines.texts(f, field: "text"), tokenizer: tokenizer,
                                          nsamples: nsamples, seqlen: seqlen, seed: seed)
        case .dataset(.wikitext2):
            let raw = try data.text(CalibrationDataset.wikitext2.file.path, hint: CalibrationDataset.wikitext2.file.hint)
            return try Calibration.sample(stream: tokenizer.encode(raw.components(separatedBy: "\n").joined(separator: " ")),
                                          nsamples: nsamples, seqlen: seqlen, seed: seed)
        case .dataset(.bookcorpus):
            let raw = try data.text(CalibrationDataset.bookcorpus.file.path, hint: CalibrationDataset.bookcorpus.file.hint)
            let sentences = raw.split(separator: "\n", omittingEmptySubsequences: true)
            return try Calibration.sample(stream: tokenizer.encode(sentences.joined(separator: " ")),
                                          nsamples: nsamples, seqlen: seqlen, seed: seed)
        }
    }

    public var description: String {
        switch self {
        case .dataset(let d): return d.rawValue
        case .tokenFile(let p): return "token file \(p)"
        }
    }

    enum CodingKeys: String, CodingKey { case dataset, tokenFile = "token_file" }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        if let p = try c.decodeIfPresent(String.self, forKey: .tokenFile) {
            self = .tokenFile(p)
        } else {
            self = .dataset(try c.decode(CalibrationDataset.self, forKey: .dataset))
        }
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        switch self {
        case .dataset(let d): try c.encode(d, forKey: .dataset)
        case .tokenFile(let p): try c.encode(p, forKey: .tokenFile)
        }
    }
}
