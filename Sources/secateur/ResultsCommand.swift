import ArgumentParser
import Experiments
import Foundation

struct Results: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Read a study's results database: list, show one cell, export as CSV or JSON.",
        subcommands: [ResultsList.self, ResultsShow.self, ResultsExportCommand.self])
}

struct StoreOptions: ParsableArguments {
    @Option(help: "The results database (SQLite).") var db = "results.sqlite"
    @Option(help: "Only the cells of this study.") var study: String?

    func cells() throws -> [StoredCell] { try ResultsStore.existing(path: db).cells(study: study) }
}

struct ResultsList: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "One line per stored cell.")
    @OptionGroup var store: StoreOptions
    @Flag(help: "Print a JSON array of the stored run records, each with its cell key and status.") var json = false

    func run() throws {
        let cells = try store.cells()
        if json { return print(String(decoding: try ResultsExport.jsonArray(cells), as: UTF8.self)) }
        for c in cells {
            var line = "\(c.key.prefix(12))  \(c.status.rawValue.padding(toLength: 8, withPad: " ", startingAt: 0))  \(c.study)  \(c.label)"
            if let r = c.record {
                if let p = r.metrics.perplexity.first { line += String(format: "  %@ ppl %.2f", p.dataset, p.value) }
                if case .studyCell(let x) = r.result, let a = x.tasksAverage { line += String(format: "  avg %.2f", a * 100) }
            } else if let e = c.error {
                line += "  error: \(e)"
            }
            print(line)
        }
    }
}

struct ResultsShow: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "show", abstract: "One cell's run record (pretty JSON); the key may be a prefix.")
    @Argument(help: "The cell key (or a unique prefix of it).") var key: String
    @OptionGroup var store: StoreOptions

    func run() throws {
        let matches = try store.cells().filter { $0.key.hasPrefix(key) }
        guard matches.count == 1, let c = matches.first else {
            throw CLIError(matches.isEmpty ? "no cell with a key starting \(key) in \(store.db)"
                                           : "\(matches.count) cells have keys starting \(key); give more of the key")
        }
        if let r = c.record { return print(String(decoding: try r.prettyJSON(), as: UTF8.self)) }
        print("cell \(c.key) (\(c.label)) failed: \(c.error ?? "")")
    }
}

struct ResultsExportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "export", abstract: "All stored cells as CSV (one line each) or a JSON array of records.")
    @OptionGroup var store: StoreOptions
    @Flag(help: "CSV (the default).") var csv = false
    @Flag(help: "A JSON array of the run records.") var json = false
    @Option(help: "Write to this file instead of stdout.") var output: String?

    func validate() throws { if csv && json { throw ValidationError("choose one of --csv and --json") } }

    func run() throws {
        let cells = try store.cells()
        let data = json ? try ResultsExport.jsonArray(cells) + Data("\n".utf8) : Data(ResultsExport.csv(cells).utf8)
        if let output { try ResultsExport.write(data, to: output) } else { Terminal.out(String(decoding: data, as: UTF8.self)) }
    }
}

struct Report: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write a study's report from its results database: report.md, a self-contained report.html, plots/*.svg.")
    @OptionGroup var store: StoreOptions
    @Option(help: "The report directory.") var out: String
    @Option(help: "The report's title.") var title: String?

    func run() throws {
        let cells = try store.cells()
        guard !cells.isEmpty else { throw CLIError("\(store.db) holds no cells\(store.study.map { " of study \($0)" } ?? "")") }
        let written = try ReportWriter.write(StudyReport(cells: cells, title: title), to: out)
        print(written.html)
        print(written.markdown)
    }
}
