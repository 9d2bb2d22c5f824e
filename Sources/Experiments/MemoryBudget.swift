import Foundation

/// Sizes of memory as a user writes them: "12G", "1.5GiB", "800M", "800MB", "4096" (bytes).
/// K, M, G and T are powers of 1024 with or without "i"/"B" (as `free -h` and /usr/bin/time's
/// kilobytes count).
public enum MemorySize {
    public static func parse(_ text: String) -> Int? {
        var t = text.trimmingCharacters(in: .whitespaces).uppercased()
        if t.hasSuffix("B") { t.removeLast() }
        if t.hasSuffix("I") { t.removeLast() }
        let units: [Character: Double] = ["K": 0x1p10, "M": 0x1p20, "G": 0x1p30, "T": 0x1p40]
        var scale = 1.0
        if let u = t.last, let s = units[u] { scale = s; t.removeLast() }
        guard let v = Double(t), v.isFinite, v > 0, v * scale < 9e18 else { return nil }
        return Int((v * scale).rounded())
    }

    /// "1.23 GiB" / "456.0 MiB".
    public static func describe(_ bytes: Int) -> String {
        let b = Double(bytes)
        return b >= Double(1 << 30) ? String(format: "%.2f GiB", b / Double(1 << 30)) : String(format: "%.1f MiB", b / Double(1 << 20))
    }
}

/// The memory a run may use: given, or by default what the machine has (MemTotal) less a
/// margin for the system (10 %, at least 512 MiB).
public enum MemoryBudget {
    public static func `default`() -> Int? {
        guard let text = try? String(contentsOfFile: "/proc/meminfo", encoding: .utf8) else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix("MemTotal:") {
            guard let kb = Int(line.dropFirst("MemTotal:".count).split(separator: " ").first ?? "") else { return nil }
            let total = kb * 1024
            return total - max(total / 10, 512 << 20)
        }
        return nil
    }

    /// Throws `MemoryPlanError.exceedsBudget` when `plan` needs more than `budget` (nil: the
    /// default; no check where the machine's memory is unknown and no budget was given).
    public static func check(_ plan: inout MemoryPlan, budget: Int?, advice: String) throws {
        guard let limit = budget ?? Self.default() else { return }
        plan.budgetBytes = limit
        if plan.totalBytes > limit {
            throw MemoryPlanError.exceedsBudget(estimate: plan.totalBytes, budget: limit, largest: plan.largest(3), advice: advice)
        }
    }
}

public enum MemoryPlanError: Error, CustomStringConvertible, Equatable {
    case exceedsBudget(estimate: Int, budget: Int, largest: String, advice: String)

    public var description: String {
        switch self {
        case .exceedsBudget(let estimate, let budget, let largest, let advice):
            return "this run needs about \(MemorySize.describe(estimate)) (largest: \(largest)) but the memory budget is "
                + "\(MemorySize.describe(budget)); \(advice)"
        }
    }
}
