/// Why recovery fine-tuning data could not be built. Every message names the file and, where
/// one element or line is at fault, which one (Alpaca elements are counted from 0, as in the
/// JSON array; lines from 1). Settings are named by their keys (`seqlen`, `validation_count`,
/// `max_examples`), never by a front end's flags.
public enum RecoveryDataError: Error, CustomStringConvertible {
    /// The user's data file does not exist.
    case missingFile(path: String)
    /// The file exists but could not be read (a directory, no permission, not UTF-8).
    case unreadable(path: String, reason: String)
    /// A named dataset of the data directory is missing or malformed (`DatasetError` says
    /// which file was expected and where it was looked for).
    case dataset(DatasetError)
    /// The whole file is not valid JSON (an Alpaca-format file).
    case malformedJSON(path: String, reason: String)
    /// An Alpaca-format file whose top level is not a JSON array of objects.
    case notAnArray(path: String, found: String)
    /// One element of an Alpaca-format array is not an object with string `instruction` and
    /// `output` (and, if present, a string or null `input`).
    case malformedElement(path: String, index: Int, line: Int?, reason: String)
    /// One line of a JSON-lines file is not an object with a string `text`.
    case malformedLine(path: String, line: Int, reason: String)
    /// `seqlen` is below 2 (a window needs a token and the next one to predict).
    case seqlenTooSmall(Int)
    /// `max_examples` is below 1, or `validation_count` is negative.
    case invalidCount(setting: String, value: Int)
    /// Not one training example: the text is shorter than one window, or the file has no items.
    case noTrainingExamples(source: String, reason: String)
    /// `validation_count` leaves nothing to train on (`unit`: what is counted, singular).
    case validationTooLarge(source: String, requested: Int, available: Int, unit: String)

    public var description: String {
        switch self {
        case .missingFile(let p):
            return "recovery data file \(p) not found"
        case .unreadable(let p, let why):
            return "cannot read recovery data file \(p): \(why)"
        case .dataset(let e):
            return e.description
        case .malformedJSON(let p, let why):
            return "\(p): not valid JSON (\(why)); an Alpaca-format file is a JSON array of objects with \"instruction\", optional \"input\" and \"output\""
        case .notAnArray(let p, let found):
            return "\(p): the top level is \(found), not a JSON array; an Alpaca-format file is a JSON array of objects with \"instruction\", optional \"input\" and \"output\""
        case .malformedElement(let p, let i, let line, let why):
            let at = line.map { "\(p):\($0)" } ?? p
            return "\(at): element \(i) of the array (counting from 0) \(why)"
        case .malformedLine(let p, let l, let why):
            return "\(p):\(l): \(why)"
        case .seqlenTooSmall(let s):
            return "seqlen \(s) is too small: a training sequence needs at least 2 tokens"
        case .invalidCount(let setting, let v):
            return setting == "validation_count"
                ? "validation_count \(v) is negative; use 0 for no held-out split"
                : "\(setting) \(v) must be at least 1"
        case .noTrainingExamples(let s, let why):
            return "\(s) gives no training example: \(why)"
        case .validationTooLarge(let s, let r, let a, let unit):
            // "window of 16 tokens" → "windows of 16 tokens"
            var words = unit.split(separator: " ", maxSplits: 1).map(String.init)
            if a != 1, !words.isEmpty { words[0] += "s" }
            return "validation_count \(r) leaves nothing to train on: \(s) provides \(a) \(words.joined(separator: " ")); use at most \(max(a - 1, 0))"
        }
    }
}
