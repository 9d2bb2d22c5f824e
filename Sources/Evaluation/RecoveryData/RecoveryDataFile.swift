import Foundation

/// Reading a user's file, with errors that name it.
enum RecoveryDataFile {
    static func contents(_ path: String) throws(RecoveryDataError) -> Data {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else { throw .missingFile(path: path) }
        if isDir.boolValue { throw .unreadable(path: path, reason: "it is a directory") }
        do {
            return try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw .unreadable(path: path, reason: (error as NSError).localizedDescription.replacingOccurrences(of: "\n", with: " "))
        }
    }

    static func text(_ data: Data, path: String) throws(RecoveryDataError) -> String {
        guard let s = String(data: data, encoding: .utf8) else { throw .unreadable(path: path, reason: "not valid UTF-8 text") }
        return s
    }
}
