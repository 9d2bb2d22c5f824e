/// A rate measured several times: median (what reports quote) and the spread.
public struct RepeatedTiming: Codable, Sendable, Equatable {
    public var median: Double
    public var min: Double
    public var max: Double
    public var samples: [Double]

    public init(samples: [Double]) {
        precondition(!samples.isEmpty)
        let s = samples.sorted()
        median = s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
        min = s.first!; max = s.last!
        self.samples = samples
    }
}
