public enum EfficiencyError: Error, CustomStringConvertible {
    case invalidSetting(String)
    public var description: String {
        switch self { case .invalidSetting(let why): return "invalid benchmark setting: \(why)" }
    }
}
