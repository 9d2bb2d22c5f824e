import Foundation
import GRDB

/// Why the results store cannot be opened, read or written.
public enum ResultsStoreError: Error, CustomStringConvertible {
    case open(path: String, reason: String)
    case corruptRow(key: String, reason: String)
    case notFound(key: String, path: String)

    public var description: String {
        switch self {
        case let .open(path, reason): return "cannot open the results database \(path): \(reason)"
        case let .corruptRow(key, reason): return "the stored record of cell \(key) cannot be read: \(reason)"
        case let .notFound(key, path): return "no cell with key \(key) in \(path)"
        }
    }
}

/// One row of the store: a cell that finished, or failed.
public struct StoredCell: Sendable {
    public enum Status: String, Codable, Sendable { case complete, failed }

    public var key: String
    public var study: String
    public var label: String
    public var model: String
    public var modelSHA256: String
    public var status: Status
    /// The run-time error of a failed cell.
    public var error: String?
    public var cell: StudyCell
    /// The cell's record (complete cells only).
    public var record: RunRecord?
    public var seconds: Double
    /// ISO 8601, UTC.
    public var finishedAt: String
}

/// The SQLite results database of studies (DESIGN.md §10), through GRDB: a pool in WAL mode so
/// that readers (`results`, `report`) never block the study that writes, and one row per cell,
/// keyed by the cell key. A row is written once, in one transaction, when its cell has finished,
/// so a process killed at any moment leaves either the whole row or none. A complete row is
/// never replaced; a failed row is replaced when the cell is run again.
public final class ResultsStore {
    public let path: String
    private let pool: DatabasePool

    public init(path: String) throws {
        self.path = path
        do {
            let dir = URL(fileURLWithPath: path).deletingLastPathComponent().path
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            var config = Configuration()
            config.busyMode = .timeout(30)
            pool = try DatabasePool(path: path, configuration: config)
            try Self.migrator.migrate(pool)
        } catch let e as DatabaseError {
            throw ResultsStoreError.open(path: path, reason: e.message ?? "\(e)")
        } catch {
            throw ResultsStoreError.open(path: path, reason: "\(error)")
        }
    }

    /// Opens an existing store without creating one (readers: a typo in the path is an error,
    /// not an empty report).
    public static func existing(path: String) throws -> ResultsStore {
        guard FileManager.default.fileExists(atPath: path) else {
            throw ResultsStoreError.open(path: path, reason: "no such file (run a study with this database first)")
        }
        return try ResultsStore(path: path)
    }

    /// The store at `path` if the file exists, else nil (planning reads what is stored without
    /// creating a database for a study that may yet be refused).
    public static func ifPresent(path: String) throws -> ResultsStore? {
        FileManager.default.fileExists(atPath: path) ? try ResultsStore(path: path) : nil
    }

    private static var migrator: DatabaseMigrator {
        var m = DatabaseMigrator()
        m.registerMigration("v1: cells") { db in
            try db.execute(sql: """
                CREATE TABLE cell (
                    key TEXT PRIMARY KEY NOT NULL,
                    study TEXT NOT NULL,
                    label TEXT NOT NULL,
                    model TEXT NOT NULL,
                    model_sha256 TEXT NOT NULL,
                    status TEXT NOT NULL CHECK (status IN ('complete', 'failed')),
                    error TEXT,
                    cell_json TEXT NOT NULL,
                    record_json TEXT,
                    seconds REAL NOT NULL,
                    finished_at TEXT NOT NULL,
                    CHECK ((status = 'complete') = (record_json IS NOT NULL))
                );
                CREATE INDEX cell_study ON cell(study);
                """)
        }
        // A cell's key leaves out the study, so two studies that ask for the same cell share its
        // row; this table records every study that asked for it.
        m.registerMigration("v2: studies of a cell") { db in
            try db.execute(sql: """
                CREATE TABLE study_cell (
                    study TEXT NOT NULL,
                    key TEXT NOT NULL REFERENCES cell(key),
                    PRIMARY KEY (study, key)
                );
                INSERT INTO study_cell (study, key) SELECT study, key FROM cell;
                """)
        }
        return m
    }

    /// SQLite's journal mode of the open database ("wal").
    public func journalMode() throws -> String {
        try pool.read { db in try String.fetchOne(db, sql: "PRAGMA journal_mode") ?? "" }
    }

    /// Keys of the cells stored as complete.
    public func completeKeys() throws -> Set<String> {
        try pool.read { db in Set(try String.fetchAll(db, sql: "SELECT key FROM cell WHERE status = 'complete'")) }
    }

    /// Stores a finished cell; returns false (and changes nothing) if it was already stored complete.
    @discardableResult
    public func storeComplete(key: String, cell: StudyCell, modelSHA256: String, record: RunRecord) throws -> Bool {
        let json = String(decoding: try record.compactJSON(), as: UTF8.self)
        return try write(key: key, cell: cell, modelSHA256: modelSHA256, status: .complete, error: nil, record: json,
                         seconds: record.secondsTotal)
    }

    /// Stores a failed cell with its error (unless the cell is already stored complete).
    @discardableResult
    public func storeFailed(key: String, cell: StudyCell, modelSHA256: String, error: String, seconds: Double) throws -> Bool {
        try write(key: key, cell: cell, modelSHA256: modelSHA256, status: .failed, error: error, record: nil, seconds: seconds)
    }

    private func write(key: String, cell: StudyCell, modelSHA256: String, status: StoredCell.Status, error: String?,
                       record: String?, seconds: Double) throws -> Bool {
        let enc = JSONEncoder()
        enc.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let cellJSON = String(decoding: try enc.encode(cell), as: UTF8.self)
        let now = ISO8601DateFormatter().string(from: Date())
        return try pool.write { db in
            try db.execute(sql: "INSERT OR IGNORE INTO study_cell (study, key) SELECT ?, key FROM cell WHERE key = ?",
                           arguments: [cell.study, key])
            let existing = try Row.fetchOne(db, sql: "SELECT status, error FROM cell WHERE key = ?", arguments: [key])
            if let existing {
                if (existing["status"] as String) == StoredCell.Status.complete.rawValue { return false }
                // The same failure again (a record file collected twice) changes nothing.
                if status == .failed, (existing["error"] as String?) == error { return false }
            }
            try db.execute(sql: """
                INSERT OR REPLACE INTO cell (key, study, label, model, model_sha256, status, error, cell_json, record_json, seconds, finished_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """, arguments: [key, cell.study, cell.label, cell.model, modelSHA256, status.rawValue, error, cellJSON, record,
                                 seconds, now])
            try db.execute(sql: "INSERT OR IGNORE INTO study_cell (study, key) VALUES (?, ?)", arguments: [cell.study, key])
            return true
        }
    }

    /// Status of every stored key (planning reads only this, not the records).
    public func statuses() throws -> [String: StoredCell.Status] {
        try pool.read { db in
            var out: [String: StoredCell.Status] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT key, status FROM cell") {
                out[row["key"]] = StoredCell.Status(rawValue: row["status"]) ?? .failed
            }
            return out
        }
    }

    /// Every row (optionally of one study: every cell it asked for, shared ones included), in
    /// the order the cells finished.
    public func cells(study: String? = nil) throws -> [StoredCell] {
        let rows = try pool.read { db -> [Row] in
            if let study {
                return try Row.fetchAll(db, sql: """
                    SELECT cell.* FROM cell JOIN study_cell ON study_cell.key = cell.key
                    WHERE study_cell.study = ? ORDER BY cell.finished_at, cell.rowid
                    """, arguments: [study])
            }
            return try Row.fetchAll(db, sql: "SELECT * FROM cell ORDER BY finished_at, rowid")
        }
        return try rows.map(Self.stored)
    }

    public func cell(key: String) throws -> StoredCell {
        let row = try pool.read { db in try Row.fetchOne(db, sql: "SELECT * FROM cell WHERE key = ?", arguments: [key]) }
        guard let row else { throw ResultsStoreError.notFound(key: key, path: path) }
        return try Self.stored(row)
    }

    private static func stored(_ row: Row) throws -> StoredCell {
        let key: String = row["key"]
        do {
            let cell = try JSONDecoder().decode(StudyCell.self, from: Data((row["cell_json"] as String).utf8))
            let record = try (row["record_json"] as String?).map { try RunRecord.decode(Data($0.utf8)) }
            return StoredCell(key: key, study: row["study"], label: row["label"], model: row["model"], modelSHA256: row["model_sha256"],
                              status: StoredCell.Status(rawValue: row["status"]) ?? .failed, error: row["error"], cell: cell,
                              record: record, seconds: row["seconds"], finishedAt: row["finished_at"])
        } catch {
            throw ResultsStoreError.corruptRow(key: key, reason: "\(error)")
        }
    }
}
