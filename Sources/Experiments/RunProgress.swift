/// What a pipeline reports while it works; a front end decides how to show it (the CLI draws
/// progress lines on stderr, a study may log or ignore it).
public enum RunProgress: Sendable {
    /// A line of human text ("calibration: 128 windows × 2048 tokens (3.1 s)").
    case note(String)
    /// `done` of `total` steps of the task `label`, `seconds` since it started; each step is
    /// `unitsPerStep` `unit`s (tokens, documents), for a rate.
    case steps(label: String, done: Int, total: Int, seconds: Double, unitsPerStep: Int, unit: String)
    /// A piece of generated text, as soon as the token that completes it is sampled.
    case text(String)
}

public typealias RunProgressHandler = (RunProgress) -> Void
