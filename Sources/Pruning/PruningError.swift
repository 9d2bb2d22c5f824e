public enum PruningError: Error, CustomStringConvertible {
    case invalidSetting(String)
    case numerical(String)

    public var description: String {
        switch self {
        case .invalidSetting(let why): return "invalid pruning setting: \(why)"
        case .numerical(let why): return "numerical failure while pruning: \(why)"
        }
    }
}
