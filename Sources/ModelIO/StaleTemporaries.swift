#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

/// Temporaries our atomic writers leave when their process is killed mid-write (SIGKILL, power
/// loss): hidden siblings named `.NAME.tmp-PID[-RANDOM]` (a file or a model directory being
/// written) or `.NAME.old-PID` (a replaced directory not yet removed). No reader ever uses them
/// (the target appears only by rename), but they can hold gigabytes; the next write of the same
/// target removes those whose process is gone. A live process's temporaries are left alone.
public enum StaleTemporaries {
    /// Removes the stale temporaries of `target` in its directory; returns the names removed.
    @discardableResult
    public static func sweep(for target: String) -> [String] {
        let url = URL(fileURLWithPath: target).standardizedFileURL
        let dir = url.deletingLastPathComponent().path, name = url.lastPathComponent
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: dir) else { return [] }
        var removed: [String] = []
        for e in entries {
            guard let pid = ownerPID(e, of: name), pid != getpid(), !isAlive(pid) else { continue }
            if (try? FileManager.default.removeItem(atPath: (dir as NSString).appendingPathComponent(e))) != nil {
                removed.append(e)
            }
        }
        return removed
    }

    /// The PID in `.NAME.tmp-PID[-RANDOM]` / `.NAME.old-PID`, nil for any other name.
    static func ownerPID(_ entry: String, of name: String) -> pid_t? {
        for kind in [".tmp-", ".old-"] {
            let prefix = "." + name + kind
            guard entry.hasPrefix(prefix) else { continue }
            let rest = entry.dropFirst(prefix.count)
            let digits = rest.prefix { $0.isNumber }
            guard !digits.isEmpty, let pid = pid_t(digits), pid > 0 else { return nil }
            let tail = rest.dropFirst(digits.count)
            guard tail.isEmpty || (kind == ".tmp-" && tail.first == "-" && tail.dropFirst().allSatisfy(\.isNumber)) else { return nil }
            return pid
        }
        return nil
    }

    /// Whether a process with this PID exists (kill with signal 0 delivers nothing).
    static func isAlive(_ pid: pid_t) -> Bool { kill(pid, 0) == 0 || errno == EPERM }
}
