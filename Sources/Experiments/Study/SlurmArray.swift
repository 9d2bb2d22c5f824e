import Foundation
import ModelIO

/// Resources of a study's Slurm job array (the `slurm:` section of a study file).
public struct SlurmSettings: Codable, Sendable, Equatable {
    public var jobName: String?
    public var partition: String?
    public var account: String?
    public var qos: String?
    public var cpusPerTask = 2
    /// Memory per task, as sbatch takes it ("8G").
    public var mem = "8G"
    /// Wall-time limit per task ("HH:MM:SS").
    public var time = "02:00:00"
    /// Array tasks running at once (`--array=0-N%K`); nil: no limit.
    public var maxConcurrent: Int?
    /// Further `#SBATCH` lines, verbatim ("--gres=none").
    public var extra: [String] = []

    public init() {}

    enum CodingKeys: String, CodingKey, CaseIterable {
        case jobName = "job_name", partition, account, qos, cpusPerTask = "cpus_per_task", mem, time
        case maxConcurrent = "max_concurrent", extra
    }

    static func read(_ v: ConfigValue.Located) throws -> SlurmSettings {
        let s = try Section(v, name: "slurm", allowed: CodingKeys.allCases.map(\.stringValue))
        var json = v.value.json as? [String: Any] ?? [:]
        if let e = json["extra"] as? String { json["extra"] = [e] }
        let r = try decodeSettings(SlurmSettings.self, defaults: SlurmSettings(), overrides: json, at: { s.location(of: $0) }, section: "slurm")
        guard r.cpusPerTask >= 1 else { throw StudyConfigError.invalid(s.location(of: "cpus_per_task"), "slurm.cpus_per_task must be ≥ 1") }
        if let k = r.maxConcurrent, k < 1 { throw StudyConfigError.invalid(s.location(of: "max_concurrent"), "slurm.max_concurrent must be ≥ 1") }
        // Each value becomes part of an #SBATCH line: one word, nothing a shell or sbatch would read further.
        let words = [("mem", r.mem), ("time", r.time), ("job_name", r.jobName), ("partition", r.partition), ("account", r.account),
                     ("qos", r.qos)].compactMap { k, v in v.map { (k, $0) } }
        for (key, value) in words where value.isEmpty || value.contains(where: { $0.isWhitespace || "\"'`$\\#;".contains($0) }) {
            throw StudyConfigError.invalid(s.location(of: key), "slurm.\(key) '\(value)' must be one word (no spaces, quotes or shell characters)")
        }
        for line in r.extra where line.isEmpty || line.contains(where: \.isNewline) || !line.hasPrefix("--") {
            throw StudyConfigError.invalid(s.location(of: "extra"), "slurm.extra: each entry is one sbatch option on one line, like \"--gres=none\" (got '\(line)')")
        }
        return r
    }
}

/// A study as a Slurm job array: one array task per cell. Each task runs its cell through the
/// same binary and writes the cell's record to a file of its own in `records/` (atomically:
/// temp + rename), never to the SQLite store, which is not safe to share over a network file
/// system; `secateur study collect` then merges the files into the store, skipping cells it
/// already holds, so collecting twice (or after a partial array) is harmless.
public enum SlurmArray {
    public static let scriptFile = "study.sbatch"
    public static let recordsDirectory = "records"
    public static let logsDirectory = "logs"

    /// The sbatch script. `command` is the binary and the study's arguments (config or preset
    /// and overrides), each already absolute where it is a path; the task appends its cell index
    /// and the records directory.
    public static func script(study: String, cells: Int, settings: SlurmSettings, command: [String], directory: String,
                              threads: Int?, database: String = "results.sqlite") -> String {
        let dir = URL(fileURLWithPath: directory).standardizedFileURL.path
        var array = "0-\(max(0, cells - 1))"
        if let k = settings.maxConcurrent { array += "%\(k)" }
        var lines = ["#!/bin/bash",
                     "# Secateur study '\(study)': \(cells) cells, one array task each.",
                     "# Submit: sbatch \(dir)/\(scriptFile); then: secateur study collect --records \(dir)/\(recordsDirectory) --db \(database)",
                     "#SBATCH --job-name=\(settings.jobName ?? "secateur-\(study)")",
                     "#SBATCH --array=\(array)",
                     "#SBATCH --cpus-per-task=\(settings.cpusPerTask)",
                     "#SBATCH --mem=\(settings.mem)",
                     "#SBATCH --time=\(settings.time)",
                     "#SBATCH --output=\(dir)/\(logsDirectory)/cell-%a.out",
                     "#SBATCH --error=\(dir)/\(logsDirectory)/cell-%a.err"]
        if let p = settings.partition { lines.append("#SBATCH --partition=\(p)") }
        if let a = settings.account { lines.append("#SBATCH --account=\(a)") }
        if let q = settings.qos { lines.append("#SBATCH --qos=\(q)") }
        lines += settings.extra.map { "#SBATCH \($0)" }
        lines += ["set -euo pipefail"]
        let run = (command + ["--cell-index", "\"$SLURM_ARRAY_TASK_ID\"", "--record-dir", quote("\(dir)/\(recordsDirectory)"),
                              "--threads", threads.map(String.init) ?? "\"${SLURM_CPUS_PER_TASK:-\(settings.cpusPerTask)}\""])
        lines.append(run.map { $0.hasPrefix("\"") ? $0 : quote($0) }.joined(separator: " "))
        return lines.joined(separator: "\n") + "\n"
    }

    /// Writes the script and creates the records and logs folders; returns the script's path.
    public static func write(study: String, cells: Int, settings: SlurmSettings, command: [String], directory: String,
                             threads: Int?, database: String = "results.sqlite") throws -> String {
        let fm = FileManager.default
        for sub in [recordsDirectory, logsDirectory] {
            try fm.createDirectory(atPath: URL(fileURLWithPath: directory).appendingPathComponent(sub).path, withIntermediateDirectories: true)
        }
        let path = URL(fileURLWithPath: directory).appendingPathComponent(scriptFile).path
        try writeFileAtomically(Data(script(study: study, cells: cells, settings: settings, command: command, directory: directory,
                                            threads: threads, database: database).utf8), to: path)
        try fm.setAttributes([.posixPermissions: 0o755], ofItemAtPath: path)
        return path
    }

    /// What `submit` wrote: the script and the records directory `collect` reads.
    public struct Prepared: Sendable {
        public var script: String
        public var records: String
    }

    /// Writes the array for `study` (planned as `plan`) into `directory`: each task reruns this
    /// binary on the same study source and evaluation overrides, for its own cell.
    public static func prepare(study: StudyConfig, plan: StudyPlan, source: StudySource, taskLimit: Int?, windows: Int?,
                               dataDirectory: String?, database: String, directory: String, threads: Int?) throws -> Prepared {
        // The running binary itself (argv[0] may be a bare name found on PATH).
        let binary = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe"))
            ?? URL(fileURLWithPath: CommandLine.arguments[0]).standardizedFileURL.path
        var command = [binary, "study", "run"] + source.arguments
        if let taskLimit { command += ["--limit", String(taskLimit)] }
        if let windows { command += ["--windows", String(windows)] }
        if let dataDirectory { command += ["--data-dir", URL(fileURLWithPath: dataDirectory).standardizedFileURL.path] }
        let script = try write(study: study.name, cells: plan.cells.count, settings: study.slurm, command: command,
                               directory: directory, threads: threads,
                               database: URL(fileURLWithPath: database).standardizedFileURL.path)
        let records = URL(fileURLWithPath: directory).appendingPathComponent(recordsDirectory).standardizedFileURL.path
        return Prepared(script: script, records: records)
    }

    static func quote(_ s: String) -> String {
        if s.allSatisfy({ $0.isLetter || $0.isNumber || "/._-=:,+@%".contains($0) }) { return s }
        return "'" + s.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }
}
