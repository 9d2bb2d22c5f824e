/// Where recovery fine-tuning data comes from: a named dataset of the data directory, or a
/// file the user brings (plain text, JSON lines with a "text" field, or an Alpaca-format
/// JSON array; `RecoveryFileFormat` says how its format is told).
public enum RecoveryDataSource: Sendable, Equatable, Codable, CustomStringConvertible {
    /// The C4 train shard 00000 (`c4/c4-train.00000-of-01024*.jsonl`), documents = field `text`.
    case c4
    /// `bookcorpus/book10k.txt`: 10,000 consecutive BookCorpus sentences, read as one text.
    case bookcorpus
    /// The WikiText-2 *train* split `wikitext2/wiki.train.raw` (never the test split perplexity
    /// is scored on; the file is absent from the shared data folder).
    case wikitext2
    /// A user file: `.txt`, `.jsonl`, or Alpaca-format `.json`.
    case file(String)

    /// The names `RecoveryDataSource(argument:)` reads as datasets rather than paths.
    public static let datasetNames = ["c4", "bookcorpus", "wikitext2"]

    /// A dataset name (`c4`, `bookcorpus`, `wikitext2`), else a file path. A file whose path is
    /// one of these names is given as `./c4`.
    public init(argument: String) {
        switch argument {
        case "c4": self = .c4
        case "bookcorpus": self = .bookcorpus
        case "wikitext2": self = .wikitext2
        default: self = .file(argument)
        }
    }

    public var description: String {
        switch self {
        case .c4: return "c4"
        case .bookcorpus: return "bookcorpus"
        case .wikitext2: return "wikitext2"
        case .file(let p): return p
        }
    }

    // {"dataset": "c4"} or {"file": "/path/to/data.json"}.
    enum CodingKeys: String, CodingKey { case dataset, file }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        if let p = try c.decodeIfPresent(String.self, forKey: .file) {
            self = .file(p)
            return
        }
        let name = try c.decode(String.self, forKey: .dataset)
        guard Self.datasetNames.contains(name) else {
            throw DecodingError.dataCorruptedError(forKey: .dataset, in: c,
                debugDescription: "unknown recovery dataset '\(name)'; supported: \(Self.datasetNames.joined(separator: ", ")), or a file")
        }
        self = Self(argument: name)
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        switch self {
        case .file(let p): try c.encode(p, forKey: .file)
        default: try c.encode(description, forKey: .dataset)
        }
    }
}
