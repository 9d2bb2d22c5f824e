/// One training sequence: tokens and, aligned with them, the labels the loss predicts, in
/// Hugging Face's convention (`model(input_ids, labels=labels)`): position r predicts
/// labels[r + 1], and a label of `TrainingExample.ignored` (−100) is left out of the loss
/// (the prompt of an instruction example when not training on inputs).
public struct TrainingExample: Equatable, Sendable {
    public static let ignored: Int32 = -100

    public var tokens: [Int32]
    public var labels: [Int32]

    public init(tokens: [Int32], labels: [Int32]) {
        precondition(tokens.count == labels.count, "one label per token")
        self.tokens = tokens; self.labels = labels
    }

    /// A plain language-modelling window: every next token is a target.
    public init(window tokens: [Int32]) {
        self.init(tokens: tokens, labels: tokens)
    }

    /// Positions whose next label counts in the loss (r < T − 1 with labels[r + 1] ≠ −100).
    public var targetCount: Int {
        labels.dropFirst().reduce(0) { $0 + ($1 == Self.ignored ? 0 : 1) }
    }
}
