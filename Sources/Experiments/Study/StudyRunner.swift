import Foundation
import ModelIO

/// What a running study reports; a front end decides how to show it.
public enum StudyEvent {
    /// `pending` of `total` cells will run (the rest are stored complete).
    case planned(total: Int, pending: Int, estimatedSeconds: Double)
    /// A cell starts: `done` cells finished so far in this run, of `pending`.
    case cellStarted(PlannedCell, done: Int, pending: Int, etaSeconds: Double)
    /// The current cell enters a phase ("prune", "recover", "ppl wikitext2", "tasks", "efficiency").
    case phase(PlannedCell, String)
    /// Progress inside a phase, from the pipeline.
    case progress(RunProgress)
    case cellFinished(PlannedCell, CellOutcome)
}

/// How a cell ended.
public enum CellOutcome: Sendable {
    case complete(RunRecord)
    case failed(error: String, seconds: Double)

    public var status: StoredCell.Status {
        if case .complete = self { return .complete }
        return .failed
    }
}

/// What a study run did.
public struct StudySummary: Sendable {
    public var total: Int
    public var skipped: Int
    public var completed: Int
    public var failed: Int
    public var seconds: Double
}

/// Runs a planned study into a results store: stored cells are skipped, every other cell runs
/// in order and its row is written when it ends; a cell that fails is stored as failed with its
/// error and the study goes on.
public struct StudyRunner {
    public var dataDirectory: String?
    public var threads: Int?

    public init(dataDirectory: String? = nil, threads: Int? = nil) {
        self.dataDirectory = dataDirectory; self.threads = threads
    }

    public func run(_ plan: StudyPlan, store: ResultsStore, event: (StudyEvent) -> Void = { _ in }) throws -> StudySummary {
        let start = Date()
        let complete = try store.completeKeys()
        let pending = plan.cells.filter { !complete.contains($0.key) }
        var summary = StudySummary(total: plan.cells.count, skipped: plan.cells.count - pending.count, completed: 0, failed: 0, seconds: 0)
        var estimatedLeft = pending.reduce(0) { $0 + $1.estimatedSeconds }
        event(.planned(total: plan.cells.count, pending: pending.count, estimatedSeconds: estimatedLeft))
        // Scale the estimates by how the finished cells compared with theirs.
        var estimatedDone = 0.0, actualDone = 0.0
        for (i, cell) in pending.enumerated() {
            let scale = estimatedDone > 0 ? actualDone / estimatedDone : 1
            event(.cellStarted(cell, done: i, pending: pending.count, etaSeconds: estimatedLeft * scale))
            let outcome = runCell(cell, event: event)
            switch outcome {
            case .complete(let record):
                try store.storeComplete(key: cell.key, cell: cell.cell, modelSHA256: cell.modelSHA256, record: record)
                summary.completed += 1
                actualDone += record.secondsTotal
            case .failed(let error, let seconds):
                try store.storeFailed(key: cell.key, cell: cell.cell, modelSHA256: cell.modelSHA256, error: error, seconds: seconds)
                summary.failed += 1
                actualDone += seconds
            }
            estimatedDone += cell.estimatedSeconds
            estimatedLeft -= cell.estimatedSeconds
            event(.cellFinished(cell, outcome))
        }
        summary.seconds = Date().timeIntervalSince(start)
        return summary
    }

    /// Runs one cell; an error becomes a failed outcome (with the error's message), never a throw.
    public func runCell(_ cell: PlannedCell, event: (StudyEvent) -> Void = { _ in }) -> CellOutcome {
        let start = Date()
        do {
            let run = StudyCellRun(cell: cell.cell, key: cell.key, dataDirectory: dataDirectory, threads: threads)
            return .complete(try run.run(phase: { event(.phase(cell, $0)) }, progress: { event(.progress($0)) }))
        } catch {
            return .failed(error: "\(error)", seconds: Date().timeIntervalSince(start))
        }
    }
}

/// A cell's outcome as one file (a Slurm array task's product), merged into a store by
/// `collect`.
public struct CellOutcomeFile: Codable, Sendable {
    public var key: String
    public var modelSHA256: String
    public var status: StoredCell.Status
    public var cell: StudyCell
    public var record: RunRecord?
    public var error: String?
    public var seconds: Double

    enum CodingKeys: String, CodingKey {
        case key, modelSHA256 = "model_sha256", status, cell, record, error, seconds
    }

    public init(_ planned: PlannedCell, outcome: CellOutcome) {
        key = planned.key; modelSHA256 = planned.modelSHA256; cell = planned.cell; status = outcome.status
        switch outcome {
        case .complete(let r): record = r; seconds = r.secondsTotal
        case .failed(let e, let s): error = e; seconds = s
        }
    }

    /// `<key>.json` in `directory`, written atomically.
    @discardableResult
    public func write(to directory: String) throws -> String {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let enc = JSONEncoder()
        enc.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        enc.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        let path = URL(fileURLWithPath: directory).appendingPathComponent("\(key).json").path
        try writeFileAtomically(try enc.encode(self), to: path)
        return path
    }

    /// What `collect` did.
    public struct CollectSummary: Sendable {
        public var files: Int
        public var added: Int
        public var alreadyStored: Int
        public var failed: Int
        /// Files that could not be read (named, with why); they are left where they are.
        public var unreadable: [String]
    }

    /// Merges every `*.json` outcome file of `directory` into `store`. Idempotent: a cell already
    /// stored complete is left as it is.
    public static func collect(directory: String, into store: ResultsStore) throws -> CollectSummary {
        let names: [String]
        do { names = try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.hasSuffix(".json") }.sorted() } catch {
            throw ResultsStoreError.open(path: directory, reason: "cannot list the records directory: \((error as NSError).localizedDescription)")
        }
        var s = CollectSummary(files: names.count, added: 0, alreadyStored: 0, failed: 0, unreadable: [])
        let dec = JSONDecoder()
        dec.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        for name in names {
            let path = URL(fileURLWithPath: directory).appendingPathComponent(name).path
            let file: CellOutcomeFile
            do { file = try dec.decode(CellOutcomeFile.self, from: Data(contentsOf: URL(fileURLWithPath: path))) } catch {
                s.unreadable.append("\(name): \(error)")
                continue
            }
            let changed: Bool
            if file.status == .complete, let r = file.record {
                changed = try store.storeComplete(key: file.key, cell: file.cell, modelSHA256: file.modelSHA256, record: r)
                if changed { s.added += 1 }
            } else {
                changed = try store.storeFailed(key: file.key, cell: file.cell, modelSHA256: file.modelSHA256,
                                                error: file.error ?? "failed", seconds: file.seconds)
                if changed { s.failed += 1 }
            }
            if !changed { s.alreadyStored += 1 }
        }
        return s
    }
}
