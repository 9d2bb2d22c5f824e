import Evaluation

/// Dataset errors caused by a setting (the window count, the data folder) let a front end name
/// that setting its own way ("--windows", "--data-dir").
extension DatasetError: SettingError {
    public func description(namingSetting name: (String) -> String) -> String {
        switch self {
        case let .notEnoughWindows(d, r, a, s):
            return "\(name("windows")) \(r) is more than the \(a) windows of \(s) tokens that \(d) provides"
        case let .missingFile(f, d, hint):
            return "dataset file \(f) not found in data directory \(d) (\(hint)); set \(name("data_dir")) or SECATEUR_DATA"
        default:
            return description
        }
    }
}
