import Pruning

/// What a structured prune run did: the pruner's report (already in the record's spelling),
/// and where the model went.
public struct StructuredPruneResult: Codable, Sendable {
    public var report: StructuredPruneReport
    public var output: String?

    public init(report: StructuredPruneReport, output: String?) {
        self.report = report; self.output = output
    }

    enum CodingKeys: String, CodingKey { case output }

    // Flat: the report's fields beside `output`, so the record reads as the report did.
    public init(from decoder: Decoder) throws {
        report = try StructuredPruneReport(from: decoder)
        output = try decoder.container(keyedBy: CodingKeys.self).decodeIfPresent(String.self, forKey: .output)
    }

    public func encode(to encoder: Encoder) throws {
        try report.encode(to: encoder)
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(output, forKey: .output)
    }
}
