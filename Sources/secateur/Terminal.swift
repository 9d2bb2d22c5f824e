import Experiments
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

    /// A run record as one line of JSON on stdout (`--json`).
    static func printRecord(_ record: RunRecord) throws {
        print(String(decoding: try record.compactJSON(), as: UTF8.self))
    }

    static func out(_ s: String) {
        FileHandle.standardOutput.write(s.data(using: .utf8)!)
    }
}

/// Shows a pipeline's progress: notes and progress lines on stderr; generated text on stdout
/// unless stdout carries the JSON record.
final class ProgressPrinter {
    private var lines: [String: ProgressLine] = [:]
    private let streamText: Bool

    init(streamText: Bool = false) { self.streamText = streamText }

    func callAsFunction(_ event: RunProgress) {
        switch event {
        case .note(let s):
            Terminal.err(s)
        case let .steps(label, done, total, seconds, unitsPerStep, unit):
            var line = lines[label] ?? ProgressLine(label: label, unitsPerStep: unitsPerStep, unit: unit)
            line.update(done: done, total: total, seconds: seconds)
            lines[label] = line
        case .text(let piece):
            if streamText { Terminal.out(piece) }
        }
    }

    var handler: RunProgressHandler { { [self] in self($0) } }
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
