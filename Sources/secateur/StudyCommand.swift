import ArgumentParser
import Experiments
import Foundation

extension StudyPreset: ExpressibleByArgument {}

struct Study: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run a grid of pruning runs (models × pruning × recovery) into a results database, resumably.",
        subcommands: [StudyRun.self, StudyCollect.self], defaultSubcommand: StudyRun.self)
}

struct StudyRun: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run a study from a YAML file or a preset (the default subcommand: `secateur study FILE`).",
        discussion: """
        Each cell prunes, recovers and evaluates in this process and stores one row in the database, keyed by \
        its resolved settings and the model file's SHA-256; rerunning skips stored cells, so a killed study \
        resumes where it stopped. --slurm writes a job array instead (one task per cell); `secateur study \
        collect` merges its records.
        """)

    @Argument(help: "The study file (YAML).") var config: String?
    @Option(help: "A built-in study instead of a file: quick or seed-study.") var preset: StudyPreset?
    @Option(help: "The results database (SQLite).") var db = "results.sqlite"
    @Option(help: "Write the report (report.md, report.html, plots/) to this directory when the study ends.") var report: String?
    @Flag(name: .customLong("no-report"), help: "Do not write a report.") var noReport = false
    @Flag(name: .customLong("dry-run"), help: "List the cells (with an estimated time each) and run nothing.") var dryRun = false
    @Flag(help: "With --dry-run: print the cells it would run as one JSON array on stdout.") var json = false
    @Flag(name: .customLong("print-config"), help: "Print the study's YAML (a preset's, to start from) and exit.") var printConfig = false
    @Option(help: "Override: score each task on its first N documents.") var limit: Int?
    @Option(help: "Override: perplexity over the first N windows.") var windows: Int?
    @Flag(help: "Write a Slurm job-array script (one array task per cell) instead of running.") var slurm = false
    @Option(name: .customLong("slurm-dir"), help: "Where --slurm writes the script, records and logs (default: slurm-<study>).") var slurmDir: String?
    @Option(name: .customLong("cell-index"), help: "Run only this cell (0-based; a Slurm array task), writing its record to --record-dir.") var cellIndex: Int?
    @Option(name: .customLong("record-dir"), help: "With --cell-index: the directory for the cell's record file.") var recordDir: String?
    @Option(name: .customLong("data-dir"), help: "The data folder (default: $SECATEUR_DATA).") var dataDir: String?
    @Option(help: "Worker threads (default: all cores).") var threads: Int?

    func validate() throws {
        if (config == nil) == (preset == nil) { throw ValidationError("give a study file or --preset (one of them)") }
        if let t = threads, t < 1 { throw ValidationError("--threads must be at least 1") }
        if let l = limit, l < 1 { throw ValidationError("--limit must be at least 1") }
        if let w = windows, w < 1 { throw ValidationError("--windows must be at least 1") }
        if cellIndex != nil && recordDir == nil { throw ValidationError("--cell-index needs --record-dir") }
        if json && !dryRun { throw ValidationError("--json goes with --dry-run (`secateur results list --json` prints stored records)") }
        if report != nil && noReport { throw ValidationError("--report and --no-report contradict each other") }
        if [dryRun, slurm, cellIndex != nil].filter({ $0 }).count > 1 {
            throw ValidationError("--dry-run, --slurm and --cell-index are different modes: give one")
        }
    }

    func run() throws {
        let source: StudySource = preset.map { .preset($0) } ?? .file(config!)
        if printConfig { return print(try source.text(), terminator: "") }
        let study = try source.config().overriding(taskLimit: limit, windows: windows)
        // Read what is stored (if anything) to plan; create the database only once the plan holds,
        // so a study refused at planning leaves nothing behind. A Slurm array task never opens it
        // (many tasks at once, often on a network file system): its record goes to a file.
        let existing = cellIndex == nil ? try ResultsStore.ifPresent(path: db) : nil
        let plan = try StudyPlanner(config: study, dataDirectory: dataDir).plan(store: existing)
        Terminal.err("study \(study.name): \(plan.cells.count) cells planned and checked against \(study.models.count) model(s) and the data")

        if dryRun { return try printPlan(plan) }
        if slurm { return try writeSlurm(study, plan, source) }
        let runner = StudyRunner(dataDirectory: dataDir, threads: threads)
        if let i = cellIndex {
            let progress = ProgressPrinter()
            let (outcome, path) = try runner.runArrayTask(plan, index: i, recordDirectory: recordDir!) { e in
                if case .progress(let p) = e { progress(p) }
            }
            Terminal.err("cell \(i) (\(plan.cells[i].label)): \(outcome.status.rawValue), wrote \(path)")
            return
        }

        let out = try runner.runGrid(study, plan: plan, store: try existing ?? ResultsStore(path: db), writeReport: !noReport,
                                     reportDirectory: report, event: StudyEventPrinter().callAsFunction)
        let summary = out.summary
        Terminal.err(String(format: "study %@: %d cells, %d already stored, %d completed, %d failed (%@)", study.name, summary.total,
                            summary.skipped, summary.completed, summary.failed, ProgressLine.duration(summary.seconds)))
        for t in out.report.tables where ["quality", "recovered", "efficiency", "failed"].contains(t.id) {
            print("\n\(t.title)\n")
            print(ReportWriter.textTable(t), terminator: "")
        }
        if let w = out.written { Terminal.err("report: \(w.html), \(w.markdown)") }
    }

    private func printPlan(_ plan: StudyPlan) throws {
        if json {
            let enc = JSONEncoder()
            enc.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            // The cells it would run: those not stored complete (each with its index in the study).
            return print(String(decoding: try enc.encode(plan.pending), as: UTF8.self))
        }
        let total = plan.pending.reduce(0) { $0 + $1.estimatedSeconds }
        for c in plan.cells {
            let state = c.stored.map { "stored \($0.rawValue)" } ?? "to run"
            print(String(format: "%3d  %@  %-48@ ~%@  %@", c.index, String(c.key.prefix(12)), c.label, ProgressLine.duration(c.estimatedSeconds), state))
        }
        print(String(format: "%d cells, %d to run, about %@ here (sgemm %.0f GFLOP/s)", plan.cells.count, plan.pending.count,
                     ProgressLine.duration(total), plan.gflops))
    }

    private func writeSlurm(_ study: StudyConfig, _ plan: StudyPlan, _ source: StudySource) throws {
        let written = try SlurmArray.prepare(study: study, plan: plan, source: source, taskLimit: limit, windows: windows,
                                             dataDirectory: dataDir, database: db,
                                             directory: slurmDir ?? study.defaultSlurmDirectory, threads: threads)
        print(written.script)
        Terminal.err("\(plan.cells.count) array tasks. Submit: sbatch \(written.script)")
        Terminal.err("then: secateur study collect --records \(written.records) --db \(db)")
    }
}

/// Prints a study's progress on stderr: cells done/total, the current cell and phase, ETA.
final class StudyEventPrinter {
    private let progress = ProgressPrinter()
    private var cellStart = Date()

    func callAsFunction(_ e: StudyEvent) {
        switch e {
        case let .planned(total, pending, estimate):
            Terminal.err("\(total) cells, \(total - pending) already stored, \(pending) to run (estimated \(ProgressLine.duration(estimate)))")
        case let .cellStarted(cell, done, pending, eta):
            cellStart = Date()
            Terminal.err("[\(done + 1)/\(pending)] \(cell.label)  (cell \(cell.index), ETA study \(ProgressLine.duration(eta)))")
        case let .phase(_, phase):
            Terminal.err("  \(phase)")
        case .progress(let p):
            if case .note(let s) = p { return Terminal.err("    " + s) }
            progress(p)
        case let .cellFinished(cell, outcome):
            let took = ProgressLine.duration(Date().timeIntervalSince(cellStart))
            switch outcome {
            case .complete: Terminal.err("  done \(cell.label) in \(took)")
            case .failed(let error, _): Terminal.err("  FAILED \(cell.label): \(error)")
            }
        }
    }
}

struct StudyCollect: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "collect",
        abstract: "Merge the record files of a Slurm study's array tasks into the results database (idempotent).")

    @Option(help: "The records directory (slurm-<study>/records).") var records: String
    @Option(help: "The results database (SQLite).") var db = "results.sqlite"

    func run() throws {
        let store = try ResultsStore(path: db)
        let s = try CellOutcomeFile.collect(directory: records, into: store)
        print("\(s.files) record files: \(s.added) cells added, \(s.failed) failed cells stored, \(s.alreadyStored) already stored")
        for u in s.unreadable { Terminal.err("skipped unreadable record file \(u)") }
    }
}
