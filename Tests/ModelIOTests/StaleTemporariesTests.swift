#if canImport(Glibc)
import Glibc
#endif
import Foundation
import XCTest
@testable import ModelIO

/// A write killed mid-way leaves a hidden temporary; the next write of the same target removes
/// it when its process is gone, and leaves a live process's and anything not ours alone.
final class StaleTemporariesTests: XCTestCase {
    /// A PID no process has now.
    static func deadPID() -> pid_t {
        var pid: pid_t = 4_000_000
        while kill(pid, 0) == 0 || errno != ESRCH { pid -= 1 }
        return pid
    }

    func testOwnerPIDReadsOnlyOurNames() {
        XCTAssertEqual(StaleTemporaries.ownerPID(".model.safetensors.tmp-123-4567", of: "model.safetensors"), 123)
        XCTAssertEqual(StaleTemporaries.ownerPID(".out.tmp-77", of: "out"), 77)
        XCTAssertEqual(StaleTemporaries.ownerPID(".out.old-77", of: "out"), 77)
        for other in [".out.tmp-", ".out.tmp-12x", ".out.old-5-6", ".outer.tmp-5", "out.tmp-5", ".out.tmpx-5", ".out.tmp--5"] {
            XCTAssertNil(StaleTemporaries.ownerPID(other, of: "out"), other)
        }
    }

    func testAWriteSweepsTheKilledWritesTemporaries() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("secateur-stale-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let dead = Self.deadPID(), live = getppid()
        let names = [".model.safetensors.tmp-\(dead)-42", ".model.safetensors.tmp-\(live)-1", ".model.safetensors.tmpx",
                     ".config.json.tmp-\(dead)-9", "notes.txt"]
        for n in names { try Data("junk".utf8).write(to: dir.appendingPathComponent(n)) }
        let stale = dir.appendingPathComponent(".model.safetensors.old-\(dead)")
        try FileManager.default.createDirectory(at: stale, withIntermediateDirectories: false)

        try writeFileAtomically(Data("weights".utf8), to: dir.appendingPathComponent("model.safetensors").path)
        let left = Set(try FileManager.default.contentsOfDirectory(atPath: dir.path))
        XCTAssertEqual(left, ["model.safetensors", ".model.safetensors.tmp-\(live)-1", ".model.safetensors.tmpx",
                              ".config.json.tmp-\(dead)-9", "notes.txt"])
    }
}
