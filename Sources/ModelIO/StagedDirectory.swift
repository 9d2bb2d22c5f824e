#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

/// A model directory written where no reader (and no crash) can see it half-done: everything
/// goes into a hidden temporary sibling `.NAME.tmp-PID`, and `commit()` moves it into place in
/// one step — `rename(2)` for a new target; for an existing one, Linux's
/// `renameat2(RENAME_EXCHANGE)`, which swaps the two directories atomically, so the target path
/// always holds either the old model or the new one. (Where the exchange is unavailable, two
/// renames: the old directory is parked as `.NAME.old-PID` for the instant between them.)
/// A SIGKILL at any moment leaves the target as it was or complete; what it leaves beside it is
/// removed by the next write of the same target (`StaleTemporaries`). An uncommitted stage is
/// removed when it is released, so an error leaves nothing partial either.
///
/// An existing target is replaced only if it is a model directory (holds config.json) or empty:
/// the whole directory is swapped, so anything else in it would be lost.
public final class StagedDirectory {
    /// Where the directory will appear.
    public let target: String
    /// Where to write until `commit()`.
    public let path: String
    private var finished = false

    public init(target: String) throws {
        let fm = FileManager.default
        let url = URL(fileURLWithPath: target).standardizedFileURL
        self.target = url.path
        let parent = url.deletingLastPathComponent().path
        var isDir: ObjCBool = false
        if fm.fileExists(atPath: url.path, isDirectory: &isDir) {
            guard isDir.boolValue else {
                throw StagedDirectoryError(path: target, reason: "a file of that name exists (a model is written as a directory)")
            }
            let contents = (try? fm.contentsOfDirectory(atPath: url.path)) ?? []
            guard contents.isEmpty || contents.contains(HFCheckpoint.configFileName) else {
                throw StagedDirectoryError(path: target, reason: "the directory exists and is not a model directory; choose a new path")
            }
        }
        do {
            try fm.createDirectory(atPath: parent, withIntermediateDirectories: true)
        } catch {
            throw StagedDirectoryError(path: target, reason: (error as NSError).localizedDescription)
        }
        StaleTemporaries.sweep(for: url.path)
        path = (parent as NSString).appendingPathComponent(".\(url.lastPathComponent).tmp-\(getpid())")
        try? fm.removeItem(atPath: path)   // our own PID: an earlier stage of this process
        guard mkdir(path, 0o755) == 0 else {
            throw StagedDirectoryError(path: target, reason: "cannot create a temporary directory in \(parent): \(String(cString: strerror(errno)))")
        }
    }

    deinit { if !finished { discard() } }

    /// Moves the staged directory into place (replacing an existing target) and syncs the parent
    /// so the rename survives a power loss. After an error the target is as it was.
    public func commit() throws {
        precondition(!finished, "a staged directory is committed once")
        let fm = FileManager.default
        let parent = (target as NSString).deletingLastPathComponent
        func fail(_ reason: String) -> StagedDirectoryError { StagedDirectoryError(path: target, reason: reason) }
        if !fm.fileExists(atPath: target) {
            guard rename(path, target) == 0 else { throw fail(String(cString: strerror(errno))) }
        } else if Self.exchange(path, target) {
            try? fm.removeItem(atPath: path)   // now the old directory
        } else {
            let old = (parent as NSString).appendingPathComponent(".\((target as NSString).lastPathComponent).old-\(getpid())")
            try? fm.removeItem(atPath: old)
            guard rename(target, old) == 0 else { throw fail(String(cString: strerror(errno))) }
            guard rename(path, target) == 0 else {
                let why = String(cString: strerror(errno))
                _ = rename(old, target)
                throw fail(why)
            }
            try? fm.removeItem(atPath: old)
        }
        finished = true
        let fd = open(parent, O_RDONLY)
        if fd >= 0 { _ = fsync(fd); close(fd) }
    }

    /// Removes the staged directory without touching the target.
    public func discard() {
        finished = true
        try? FileManager.default.removeItem(atPath: path)
    }

    /// `renameat2(AT_FDCWD, a, AT_FDCWD, b, RENAME_EXCHANGE)`: Swift's Glibc module does not
    /// declare it (glibc ≥ 2.28 has it behind _GNU_SOURCE), so it is looked up at run time.
    /// False where the C library or the file system lacks it.
    static func exchange(_ a: String, _ b: String) -> Bool {
        #if os(Linux)
        typealias RenameAt2 = @convention(c) (Int32, UnsafePointer<CChar>, Int32, UnsafePointer<CChar>, UInt32) -> Int32
        guard let symbol = dlsym(nil, "renameat2") else { return false }   // nil: RTLD_DEFAULT
        let renameat2 = unsafeBitCast(symbol, to: RenameAt2.self)
        let atCurrentDirectory: Int32 = -100, renameExchange: UInt32 = 1 << 1   // AT_FDCWD, RENAME_EXCHANGE
        return renameat2(atCurrentDirectory, a, atCurrentDirectory, b, renameExchange) == 0
        #else
        return false
        #endif
    }
}

public struct StagedDirectoryError: Error, CustomStringConvertible {
    public var path: String
    public var reason: String
    public var description: String { "cannot write \(path): \(reason)" }
}
