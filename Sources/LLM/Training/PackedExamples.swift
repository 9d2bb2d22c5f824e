import Compute

/// Training sequences laid end to end as one batch of rows (what a packed forward and backward
/// take): sequence i occupies rows segments[i]. The label that would make a sequence's last
/// row predict the next sequence's first token is set to ignored; that label (the first of
/// every sequence) is never a target in Hugging Face's shift, so the loss is the sum of the
/// sequences' own losses, exactly.
public struct PackedExamples {
    public let tokens: [Int32]
    public let labels: [Int32]
    public let segments: [AttentionSegment]

    public init(_ examples: [TrainingExample]) {
        var tokens: [Int32] = [], labels: [Int32] = [], segments: [AttentionSegment] = []
        for e in examples {
            segments.append(AttentionSegment(start: tokens.count, count: e.tokens.count))
            tokens += e.tokens
            labels.append(TrainingExample.ignored)
            labels += e.labels.dropFirst()
        }
        self.tokens = tokens; self.labels = labels; self.segments = segments
    }
}
