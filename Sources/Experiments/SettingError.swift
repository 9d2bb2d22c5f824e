/// An error about the value of one setting. Library messages name the setting by its key in
/// the run record's settings ("max_tokens"); a front end that calls it something else (the
/// CLI's `--max-tokens`) asks for the message with its own name.
public protocol SettingError: Error, CustomStringConvertible {
    func description(namingSetting name: (String) -> String) -> String
}

extension SettingError {
    public var description: String { description(namingSetting: { $0 }) }
}
