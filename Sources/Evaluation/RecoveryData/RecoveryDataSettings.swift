/// What recovery fine-tuning trains on, and how it is cut, shuffled and split
/// (`RecoveryDataset(settings:tokenizer:data:)` builds it).
public struct RecoveryDataSettings: Codable, Sendable, Equatable {
    public var source: RecoveryDataSource
    /// Text sources: the window length in tokens. Alpaca files: LLM-Pruner's `cutoff_len`, the
    /// most tokens of one example (default 256, LLM-Pruner's default).
    public var seqlen: Int
    /// Seed of the shuffle that orders the examples and picks the held-out split.
    public var seed: UInt64
    /// At most this many training examples (after the held-out split is taken out); nil: all.
    public var maxExamples: Int?
    /// Examples held out for validation, never trained on (LLM-Pruner's `val_set_size`).
    public var validationCount: Int
    /// Alpaca files: also train on the prompt (LLM-Pruner `--train_on_inputs`); false masks the
    /// prompt's labels with −100.
    public var trainOnInputs: Bool
    /// Alpaca files: LLM-Pruner's `--add_eos_token`, used only to measure the prompt that is
    /// masked (the full example always gets an EOS when it fits).
    public var addEOSToken: Bool
    /// User files: the format; nil: told from the extension and the content.
    public var fileFormat: RecoveryFileFormat?

    public init(source: RecoveryDataSource, seqlen: Int = 256, seed: UInt64 = 42, maxExamples: Int? = nil,
                validationCount: Int = 0, trainOnInputs: Bool = false, addEOSToken: Bool = false,
                fileFormat: RecoveryFileFormat? = nil) {
        self.source = source; self.seqlen = seqlen; self.seed = seed; self.maxExamples = maxExamples
        self.validationCount = validationCount; self.trainOnInputs = trainOnInputs; self.addEOSToken = addEOSToken
        self.fileFormat = fileFormat
    }

    enum CodingKeys: String, CodingKey {
        case source, seqlen, seed, maxExamples = "max_examples", validationCount = "validation_count"
        case trainOnInputs = "train_on_inputs", addEOSToken = "add_eos_token", fileFormat = "file_format"
    }

    /// Missing keys take the defaults of `init`.
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        source = try c.decode(RecoveryDataSource.self, forKey: .source)
        seqlen = try c.decodeIfPresent(Int.self, forKey: .seqlen) ?? 256
        seed = try c.decodeIfPresent(UInt64.self, forKey: .seed) ?? 42
        maxExamples = try c.decodeIfPresent(Int.self, forKey: .maxExamples)
        validationCount = try c.decodeIfPresent(Int.self, forKey: .validationCount) ?? 0
        trainOnInputs = try c.decodeIfPresent(Bool.self, forKey: .trainOnInputs) ?? false
        addEOSToken = try c.decodeIfPresent(Bool.self, forKey: .addEOSToken) ?? false
        fileFormat = try c.decodeIfPresent(RecoveryFileFormat.self, forKey: .fileFormat)
    }

    /// The errors a bad value gives before any file is read.
    public func validate() throws(RecoveryDataError) {
        if seqlen < 2 { throw .seqlenTooSmall(seqlen) }
        if validationCount < 0 { throw .invalidCount(setting: "validation_count", value: validationCount) }
        if let m = maxExamples, m < 1 { throw .invalidCount(setting: "max_examples", value: m) }
    }
}
