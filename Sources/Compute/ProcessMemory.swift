import Foundation

#if os(Linux)
private let RUSAGE_SELF_WHO = __rusage_who_t(RUSAGE_SELF.rawValue)
#else
private let RUSAGE_SELF_WHO = RUSAGE_SELF
#endif

/// Memory of the running process, as the kernel accounts it.
public enum ProcessMemory {
    /// Peak resident set size ("high water mark") in bytes: VmHWM from /proc/self/status on Linux,
    /// else getrusage's ru_maxrss (kilobytes on Linux, bytes on macOS). nil if neither is readable.
    public static func peakResidentBytes() -> Int? {
        if let kb = statusField("VmHWM") { return kb * 1024 }
        var usage = rusage()
        guard getrusage(RUSAGE_SELF_WHO, &usage) == 0 else { return nil }
        #if os(macOS)
        return Int(usage.ru_maxrss)
        #else
        return Int(usage.ru_maxrss) * 1024
        #endif
    }

    /// Current resident set size in bytes (VmRSS), nil where /proc is absent. The peak includes
    /// loading (mapped file pages plus the float32 arrays built from them); this is what stays.
    public static func residentBytes() -> Int? { statusField("VmRSS").map { $0 * 1024 } }

    /// A "Name:   1234 kB" field of /proc/self/status, in kB.
    static func statusField(_ name: String) -> Int? {
        guard let text = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix(name + ":") {
            return Int(line.dropFirst(name.count + 1).split(whereSeparator: { $0 == " " || $0 == "\t" }).first ?? "")
        }
        return nil
    }
}
