/// The two ways `secateur study` runs cells and what it writes, as library calls: one Slurm
/// array task (its record to a file, never to the shared store) and the whole grid (into the
/// store, then the report).
extension StudyRunner {
    /// Runs cell `index` of the plan and writes its record file into `recordDirectory`;
    /// returns the outcome and the file's path.
    public func runArrayTask(_ plan: StudyPlan, index: Int, recordDirectory: String,
                             event: (StudyEvent) -> Void = { _ in }) throws -> (outcome: CellOutcome, path: String) {
        guard plan.cells.indices.contains(index) else { throw StudyRunError.cellIndexOutOfRange(index: index, cells: plan.cells.count) }
        let outcome = runCell(plan.cells[index], event: event)
        return (outcome, try CellOutcomeFile(plan.cells[index], outcome: outcome).write(to: recordDirectory))
    }

    /// What a whole run produced: the summary, the report over the study's cells, and where it
    /// was written (nil when not asked for).
    public struct GridOutput {
        public var summary: StudySummary
        public var report: StudyReport
        public var written: (html: String, markdown: String)?
    }

    /// Runs every pending cell into `store`, builds the report over the study's cells, and
    /// writes it to `reportDirectory` (default: the study's own) unless `writeReport` is false.
    public func runGrid(_ study: StudyConfig, plan: StudyPlan, store: ResultsStore, writeReport: Bool, reportDirectory: String?,
                        event: (StudyEvent) -> Void = { _ in }) throws -> GridOutput {
        let summary = try run(plan, store: store, event: event)
        let keys = Set(plan.cells.map(\.key))
        let report = StudyReport(cells: try store.cells().filter { keys.contains($0.key) }, title: "Study \(study.name)")
        let written = writeReport ? try ReportWriter.write(report, to: reportDirectory ?? study.defaultReportDirectory) : nil
        return GridOutput(summary: summary, report: report, written: written.map { ($0.html, $0.markdown) })
    }
}

/// Why a study run request cannot be carried out.
public enum StudyRunError: Error, CustomStringConvertible, Equatable {
    case cellIndexOutOfRange(index: Int, cells: Int)

    public var description: String {
        switch self {
        case .cellIndexOutOfRange(let i, let n):
            return "cell index \(i) is outside the study's \(n) cells (0-\(n - 1))"
        }
    }
}
