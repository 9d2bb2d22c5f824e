#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

/// The process's peak resident set size so far, in bytes: VmHWM from /proc/self/status on
/// Linux, else getrusage's ru_maxrss (kilobytes on Linux, bytes on macOS).
/// The peak includes loading (a mapped safetensors file's pages plus the float32 arrays
/// built from it), so `currentBytes` (VmRSS) is reported beside it: what the model holds
/// once loaded and converted.
public enum PeakResidentMemory {
    public static func bytes() -> Int {
        if let kb = statusKilobytes("VmHWM:") { return kb * 1024 }
        var usage = rusage()
        #if canImport(Glibc)
        getrusage(RUSAGE_SELF.rawValue, &usage)
        #else
        getrusage(RUSAGE_SELF, &usage)
        #endif
        #if canImport(Darwin)
        return Int(usage.ru_maxrss)
        #else
        return Int(usage.ru_maxrss) * 1024
        #endif
    }

    /// Resident set size now (VmRSS), or nil where /proc is absent.
    public static func currentBytes() -> Int? { statusKilobytes("VmRSS:").map { $0 * 1024 } }

    private static func statusKilobytes(_ key: String) -> Int? {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix(key) }) else { return nil }
        let fields = line.split(separator: " ", omittingEmptySubsequences: true)
        return fields.count >= 2 ? Int(fields[1]) : nil
    }
}
