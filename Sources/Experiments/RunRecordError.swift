/// Why a run record cannot be read (or written).
public enum RunRecordError: Error, CustomStringConvertible, Equatable {
    /// The record was written by a newer (or unknown) Secateur whose schema this build cannot read.
    case unsupportedSchemaVersion(found: Int, supported: Int)
    /// The command named in the record is not one this build knows.
    case unknownCommand(String)
    case writeFailed(path: String, reason: String)

    public var description: String {
        switch self {
        case let .unsupportedSchemaVersion(found, supported):
            return "run record schema_version \(found) is not supported; this build of Secateur reads schema_version \(supported)"
        case let .unknownCommand(name):
            return "run record names an unknown command '\(name)'; known: \(RunCommand.allCases.map(\.rawValue).joined(separator: ", "))"
        case let .writeFailed(path, reason):
            return "cannot write run record \(path): \(reason)"
        }
    }
}
