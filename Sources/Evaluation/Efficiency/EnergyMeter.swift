#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

/// Energy used between `start()` and `stop()`, in joules.
///
/// Where the kernel exposes RAPL counters (Linux powercap, /sys/class/powercap/intel-rapl:N/
/// energy_uj; AMD Zen exposes its package counter there too) their package domains are read:
/// a measurement of the whole CPU package, other processes included. Otherwise the energy is
/// estimated as this process's CPU time (user + system, all threads) × `cpuWatts` per busy
/// core, and labelled "estimate".
///
/// Default per-core power: 4.4 W, the TDP of a server CPU divided by its cores (AMD EPYC
/// 7763: 280 W / 64 cores; Intel Xeon Platinum 8380: 270 W / 40 cores = 6.8 W is a harsher
/// figure). An estimate of the CPU alone: memory, idle power and cooling are not included.
public struct EnergyMeter {
    public enum Source: String, Codable, Sendable { case rapl, estimate }

    public static let defaultCPUWatts = 4.4

    public let source: Source
    public let cpuWatts: Double
    private let domains: [(energy: String, maxRange: Double)]
    private var startReadings: [Double] = []

    /// `raplRoot` is a parameter so tests can point it at a fake powercap tree.
    public init(cpuWatts: Double = EnergyMeter.defaultCPUWatts, raplRoot: String = "/sys/class/powercap") {
        self.cpuWatts = cpuWatts
        var found: [(String, Double)] = []
        let fm = FileManager.default
        // Top-level package domains only ("intel-rapl:0"); sub-zones ("intel-rapl:0:0") are
        // parts of a package and would be counted twice.
        let names = ((try? fm.contentsOfDirectory(atPath: raplRoot)) ?? []).sorted()
            .filter { $0.hasPrefix("intel-rapl:") && $0.split(separator: ":").count == 2 }
        for n in names {
            let e = raplRoot + "/" + n + "/energy_uj"
            guard Self.readNumber(e) != nil else { continue }        // unreadable without privileges
            let range = Self.readNumber(raplRoot + "/" + n + "/max_energy_range_uj") ?? Double(UInt64.max)
            found.append((e, range))
        }
        domains = found
        source = found.isEmpty ? .estimate : .rapl
    }

    public mutating func start() { startReadings = readings() }

    /// Joules since `start()`.
    public func stop() -> Double {
        let now = readings()
        switch source {
        case .estimate:
            return now[0] - startReadings[0]
        case .rapl:
            // Counters are in µJ and wrap at max_energy_range_uj; one wrap per domain is undone.
            var joules = 0.0
            for (i, d) in domains.enumerated() {
                var delta = now[i] - startReadings[i]
                if delta < 0 { delta += d.maxRange }
                joules += delta / 1e6
            }
            return joules
        }
    }

    /// µJ of each RAPL package, or [joules of estimated CPU energy so far].
    private func readings() -> [Double] {
        switch source {
        case .rapl: return domains.map { Self.readNumber($0.energy) ?? 0 }
        case .estimate: return [Self.processCPUSeconds() * cpuWatts]
        }
    }

    static func readNumber(_ path: String) -> Double? {
        guard let s = try? String(contentsOfFile: path, encoding: .utf8) else { return nil }
        return Double(s.trimmingCharacters(in: .whitespacesAndNewlines))
    }

    /// User + system CPU seconds of this process, all threads.
    public static func processCPUSeconds() -> Double {
        var usage = rusage()
        #if canImport(Glibc)
        getrusage(RUSAGE_SELF.rawValue, &usage)
        #else
        getrusage(RUSAGE_SELF, &usage)
        #endif
        func seconds(_ t: timeval) -> Double { Double(t.tv_sec) + Double(t.tv_usec) / 1e6 }
        return seconds(usage.ru_utime) + seconds(usage.ru_stime)
    }
}
