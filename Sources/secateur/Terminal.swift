import Foundation

/// A command's own runtime error (one line).
struct CLIError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Human text and progress go to stderr; stdout carries only results (and --json objects).
enum Terminal {
    static func err(_ s: String) {
        FileHandle.standardError.write((s + "\n").data(using: .utf8)!)
    }

    static func printJSON<T: Encodable>(_ value: T) throws {
        let enc = JSONEncoder()
        enc.outputFormatting = [.sortedKeys]
        let data = try enc.encode(value)
        print(String(decoding: data, as: UTF8.self))
    }
}

/// A one-line progress meter on stderr ("windows 3/16 · 201 tok/s · ETA 2m10s"), redrawn in
/// place on a terminal and printed at most every few seconds otherwise (logs, CI).
struct ProgressLine {
    let label: String
    let unitsPerStep: Int
    let unit: String
    private var lastPrint = Date.distantPast
    private let isTTY = isatty(fileno(stderr)) != 0

    init(label: String, unitsPerStep: Int, unit: String = "tok") {
        self.label = label; self.unitsPerStep = unitsPerStep; self.unit = unit
    }

    mutating func update(done: Int, total: Int, seconds: Double) {
        let now = Date()
        let finished = done == total
        if !finished && now.timeIntervalSince(lastPrint) < (isTTY ? 0.2 : 5) { return }
        lastPrint = now
        let rate = Double(done * unitsPerStep) / max(seconds, 1e-9)
        let eta = seconds / Double(max(done, 1)) * Double(total - done)
        let line = String(format: "%@ %d/%d · %.1f %@/s · %@ %@", label, done, total, rate, unit,
                          finished ? "took" : "ETA", Self.duration(finished ? seconds : eta))
        if isTTY {
            FileHandle.standardError.write(("\r\u{1B}[K" + line + (finished ? "\n" : "")).data(using: .utf8)!)
        } else {
            Terminal.err(line)
        }
    }

    static func duration(_ s: Double) -> String {
        let t = Int(s.rounded())
        return t >= 60 ? "\(t / 60)m\(String(format: "%02d", t % 60))s" : String(format: "%.1fs", s)
    }
}
