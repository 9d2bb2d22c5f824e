import Foundation

/// A step of a harness that may refuse the input (any thrown error). With SECATEUR_FUZZ_VERBOSE
/// set, refusals are printed: how to check that the seeds get past the parsers.
enum Refusal {
    static let verbose = ProcessInfo.processInfo.environment["SECATEUR_FUZZ_VERBOSE"] != nil

    static func attempt<T>(_ step: String, _ body: () throws -> T) -> T? {
        do { return try body() } catch {
            if verbose { FileHandle.standardError.write(Data("refused at \(step): \(error)\n".utf8)) }
            return nil
        }
    }
}
