/// Settings that do not fit a run whose blocks are streamed from the checkpoint.
public enum StreamSettingError: SettingError, Equatable {
    /// A streamed prune writes each block as it is final: it needs somewhere to write.
    case needsOutput
    /// Weight encodings convert every block in memory at once.
    case withWeights

    public func description(namingSetting name: (String) -> String) -> String {
        switch self {
        case .needsOutput:
            return "\(name("stream")) writes the pruned model block by block as it goes; give \(name("output"))"
        case .withWeights:
            return "\(name("weights")) converts every block held in memory; it does not combine with \(name("stream"))"
        }
    }
}
