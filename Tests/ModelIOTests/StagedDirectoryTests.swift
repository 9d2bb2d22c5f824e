import Foundation
import XCTest
@testable import ModelIO

/// A staged directory appears whole or not at all; replacing swaps the directories in one step
/// (on Linux); what it refuses to replace, and what a discarded or released stage leaves.
final class StagedDirectoryTests: XCTestCase {
    var dir: URL!

    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("secateur-staged-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    }

    override func tearDown() { try? FileManager.default.removeItem(at: dir) }

    func entries() throws -> [String] { try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted() }

    func write(_ text: String, _ name: String, in d: String) throws {
        try Data(text.utf8).write(to: URL(fileURLWithPath: d).appendingPathComponent(name))
    }

    func testCommitMovesTheStageIntoPlace() throws {
        let target = dir.appendingPathComponent("model").path
        let s = try StagedDirectory(target: target)
        try write("{}", "config.json", in: s.path)
        XCTAssertFalse(FileManager.default.fileExists(atPath: target), "nothing at the target before the commit")
        try s.commit()
        XCTAssertEqual(try entries(), ["model"])
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: target), ["config.json"])
    }

    func testReplacingSwapsInOneStepAndRemovesTheOld() throws {
        #if os(Linux)
        let a = dir.appendingPathComponent("a").path, b = dir.appendingPathComponent("b").path
        for (d, text) in [(a, "A"), (b, "B")] {
            try FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true)
            try write(text, "x", in: d)
        }
        XCTAssertTrue(StagedDirectory.exchange(a, b), "renameat2(RENAME_EXCHANGE) is found and works here")
        XCTAssertEqual(try String(contentsOfFile: a + "/x", encoding: .utf8), "B")
        XCTAssertEqual(try String(contentsOfFile: b + "/x", encoding: .utf8), "A")
        #endif
        let target = dir.appendingPathComponent("model").path
        try FileManager.default.createDirectory(atPath: target, withIntermediateDirectories: true)
        try write("old", "config.json", in: target)
        try write("old", "extra.bin", in: target)
        let s = try StagedDirectory(target: target)
        try write("new", "config.json", in: s.path)
        try s.commit()
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: target), ["config.json"], "the old directory is gone whole")
        XCTAssertEqual(try String(contentsOfFile: target + "/config.json", encoding: .utf8), "new")
        XCTAssertEqual(try entries().filter { $0 != "a" && $0 != "b" }, ["model"], "no temporary or old directory left beside it")
    }

    func testAnUncommittedStageLeavesNothing() throws {
        let target = dir.appendingPathComponent("model").path
        do {
            let s = try StagedDirectory(target: target)
            try write("{}", "config.json", in: s.path)
        }
        XCTAssertEqual(try entries(), [], "released without a commit: removed")
        let s = try StagedDirectory(target: target)
        try write("{}", "config.json", in: s.path)
        s.discard()
        XCTAssertEqual(try entries(), [])
    }

    func testRefusesToReplaceWhatIsNotAModelDirectory() throws {
        let file = dir.appendingPathComponent("file").path
        try write("data", "file", in: dir.path)
        XCTAssertThrowsError(try StagedDirectory(target: file)) { e in
            XCTAssertTrue("\(e)".contains("a file of that name exists"), "\(e)")
        }
        let notes = dir.appendingPathComponent("notes").path
        try FileManager.default.createDirectory(atPath: notes, withIntermediateDirectories: true)
        try write("mine", "todo.txt", in: notes)
        XCTAssertThrowsError(try StagedDirectory(target: notes)) { e in
            XCTAssertTrue("\(e)".contains("not a model directory"), "\(e)")
        }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: notes), ["todo.txt"], "left as it was")
        XCTAssertEqual(try entries(), ["file", "notes"], "no stage was made")
    }
}
