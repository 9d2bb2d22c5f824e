import Compute
import Foundation
import LLM
import ModelIO

/// What a recovery dataset was built from and how much it holds.
public struct RecoveryDataMetadata: Codable, Sendable, Equatable {
    public enum Kind: String, Codable, Sendable {
        /// Language-modelling windows of `seqlen` tokens (text sources).
        case windows
        /// One Alpaca instruction example each, at most `seqlen` tokens.
        case instructions
    }
    /// The source as given (`c4`, `bookcorpus`, `wikitext2`, or the user's path).
    public var source: String
    /// The file read.
    public var file: String
    public var format: RecoveryFileFormat
    public var kind: Kind
    /// Documents read (text sources) or elements of the array (Alpaca).
    public var documents: Int
    /// Text sources: tokens of all documents concatenated, and the tail dropped after the last
    /// whole window.
    public var streamTokens: Int?
    public var droppedTokens: Int?
    /// Examples before the split: windows cut, or Alpaca elements.
    public var available: Int
    public var seqlen: Int
    public var seed: UInt64
    public var trainExamples: Int
    public var validationExamples: Int
    /// Tokens of the training / held-out examples.
    public var trainTokens: Int
    public var validationTokens: Int
    /// Positions that count in the loss (labels not −100) over the training examples.
    public var trainTargets: Int
    /// Alpaca: training and held-out examples whose prompt was cut at `seqlen`.
    public var truncated: Int?

    enum CodingKeys: String, CodingKey {
        case source, file, format, kind, documents, streamTokens = "stream_tokens", droppedTokens = "dropped_tokens"
        case available, seqlen, seed, trainExamples = "train_examples", validationExamples = "validation_examples"
        case trainTokens = "train_tokens", validationTokens = "validation_tokens", trainTargets = "train_targets", truncated
    }
}

/// The training data of recovery fine-tuning: training examples, a held-out split never
/// trained on, and what they were built from.
///
/// Text sources (`c4`, `bookcorpus`, `wikitext2`, `.txt`/`.jsonl` files) are cut into windows
/// of `seqlen` tokens (`RecoveryTextCorpus`); Alpaca-format files give one instruction example
/// per element, tokenized as LLM-Pruner's `post_training.py` does (`AlpacaTokenization`). The
/// examples are then shuffled by seed and split (`RecoverySplit`).
public struct RecoveryDataset: Sendable, CustomStringConvertible {
    public var train: [TrainingExample]
    public var validation: [TrainingExample]
    public var metadata: RecoveryDataMetadata

    public init(train: [TrainingExample], validation: [TrainingExample], metadata: RecoveryDataMetadata) {
        self.train = train; self.validation = validation; self.metadata = metadata
    }

    /// Builds the dataset `settings` describe. `data` is where named datasets are read from;
    /// a `.file` path is read as given (relative to the current directory).
    public init(settings: RecoveryDataSettings, tokenizer: Tokenizer, data: DataDirectory) throws(RecoveryDataError) {
        try settings.validate()
        let source = settings.source.description
        switch settings.source {
        case .file(let path):
            let contents = try RecoveryDataFile.contents(path)
            let format = settings.fileFormat ?? RecoveryFileFormat.detect(path: path, contents: contents)
            if format == .alpaca {
                let records = try AlpacaFile.records(data: contents, path: path)
                self = try Self.instructions(records, source: source, file: path, settings: settings, tokenizer: tokenizer)
            } else {
                let docs = try RecoveryTextCorpus.documents(file: path, contents: contents, format: format)
                self = try Self.windows(docs, source: source, file: path, format: format, settings: settings, tokenizer: tokenizer)
            }
        default:
            let (file, docs) = try RecoveryTextCorpus.documents(dataset: settings.source, data: data)
            self = try Self.windows(docs, source: source, file: file, format: settings.source == .c4 ? .jsonLines : .text,
                                    settings: settings, tokenizer: tokenizer)
        }
    }

    static func windows(_ docs: [String], source: String, file: String, format: RecoveryFileFormat,
                        settings: RecoveryDataSettings, tokenizer: Tokenizer) throws(RecoveryDataError) -> RecoveryDataset {
        let stream = RecoveryTextCorpus.stream(documents: docs, tokenizer: tokenizer)
        let windows = RecoveryTextCorpus.windows(stream: stream, seqlen: settings.seqlen)
        if windows.isEmpty {
            throw .noTrainingExamples(source: source, reason: "its \(docs.count) document\(docs.count == 1 ? "" : "s") (\(file)) give "
                + "\(stream.count) tokens, fewer than one window of seqlen \(settings.seqlen); use a smaller seqlen or more text")
        }
        let split = try Self.split(available: windows.count, unit: "window of \(settings.seqlen) tokens", source: source, settings: settings)
        let train = split.train.map { windows[$0] }, validation = split.validation.map { windows[$0] }
        let meta = RecoveryDataMetadata(
            source: source, file: file, format: format, kind: .windows, documents: docs.count,
            streamTokens: stream.count, droppedTokens: stream.count - windows.count * settings.seqlen,
            available: windows.count, seqlen: settings.seqlen, seed: settings.seed,
            trainExamples: train.count, validationExamples: validation.count,
            trainTokens: train.reduce(0) { $0 + $1.tokens.count }, validationTokens: validation.reduce(0) { $0 + $1.tokens.count },
            trainTargets: train.reduce(0) { $0 + $1.targetCount }, truncated: nil)
        return RecoveryDataset(train: train, validation: validation, metadata: meta)
    }

    static func instructions(_ records: [AlpacaRecord], source: String, file: String, settings: RecoveryDataSettings,
                             tokenizer: Tokenizer) throws(RecoveryDataError) -> RecoveryDataset {
        if records.isEmpty { throw .noTrainingExamples(source: source, reason: "the JSON array (\(file)) is empty") }
        let split = try Self.split(available: records.count, unit: "example", source: source, settings: settings)
        let how = AlpacaTokenization(cutoff: settings.seqlen, trainOnInputs: settings.trainOnInputs, addEOSToken: settings.addEOSToken)
        // Only the chosen elements are tokenized.
        let chosen = split.validation + split.train
        var built = [(example: TrainingExample, truncated: Bool)?](repeating: nil, count: chosen.count)
        built.withUnsafeMutableBufferPointer { out in
            let base = out.baseAddress
            parallelFor(chosen.count) { s, e in
                for k in s..<e { base![k] = how.exampleNotingTruncation(records[chosen[k]], tokenizer: tokenizer) }
            }
        }
        let all = built.map { $0! }
        let validation = all[..<split.validation.count].map(\.example)
        let train = all[split.validation.count...].map(\.example)
        let meta = RecoveryDataMetadata(
            source: source, file: file, format: .alpaca, kind: .instructions, documents: records.count,
            streamTokens: nil, droppedTokens: nil, available: records.count, seqlen: settings.seqlen, seed: settings.seed,
            trainExamples: train.count, validationExamples: validation.count,
            trainTokens: train.reduce(0) { $0 + $1.tokens.count }, validationTokens: validation.reduce(0) { $0 + $1.tokens.count },
            trainTargets: train.reduce(0) { $0 + $1.targetCount }, truncated: all.filter(\.truncated).count)
        return RecoveryDataset(train: train, validation: validation, metadata: meta)
    }

    static func split(available: Int, unit: String, source: String, settings: RecoveryDataSettings) throws(RecoveryDataError) -> RecoverySplit {
        if settings.validationCount >= available {
            throw .validationTooLarge(source: source, requested: settings.validationCount, available: available, unit: unit)
        }
        return RecoverySplit(count: available, seed: settings.seed, validationCount: settings.validationCount,
                             maxExamples: settings.maxExamples)
    }

    /// One line: source, file, what was cut, and the split.
    public var description: String {
        let m = metadata
        var s = "\(m.source) (\(m.file)): "
        switch m.kind {
        case .windows:
            s += "\(m.documents) document\(m.documents == 1 ? "" : "s"), \(m.streamTokens ?? 0) tokens, \(m.available) window\(m.available == 1 ? "" : "s") of \(m.seqlen) tokens"
            if let d = m.droppedTokens, d > 0 { s += " (\(d) tail tokens dropped)" }
        case .instructions:
            s += "\(m.available) Alpaca example\(m.available == 1 ? "" : "s"), cutoff \(m.seqlen) tokens"
            if let t = m.truncated, t > 0 { s += " (\(t) of those used cut at the cutoff)" }
        }
        s += "; \(m.trainExamples) training (\(m.trainTokens) tokens, \(m.trainTargets) targets), \(m.validationExamples) held out, seed \(m.seed)"
        return s
    }
}
