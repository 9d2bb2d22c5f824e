#if canImport(Glibc)
import Glibc
#endif
import Foundation
import LLM
import ModelIO
import TestSupport
import XCTest

/// Outputs survive SIGKILL and a full disk (issue 18): `prune --output` and `export` are killed
/// at 24 moments — 4 before anything is written, 20 spread over the writing itself — and
/// afterwards the target either does not exist or equals an uninterrupted run's output, with no
/// partial file inside it; the next run sweeps what the killed ones left beside it. A disk that
/// fills up mid-write gives one clear line and leaves nothing behind.
extension CLIErrorTests {
    func testKilledPruneOutputIsAbsentOrComplete() throws {
        let src = try midSizeCheckpoint()
        try assertKillSafe(target: "pruned", isDirectory: true) { out in
            ["prune", "--model", src, "--method", "magnitude", "--sparsity", "0.5", "--output", out]
        }
    }

    func testKilledExportIsAbsentOrComplete() throws {
        let src = try midSizeCheckpoint()
        try assertKillSafe(target: "model.gguf", isDirectory: false) { out in
            ["export", "--model", src, "--format", "gguf", "--dtype", "f32", "--output", out]
        }
        try assertKillSafe(target: "hf", isDirectory: true) { out in
            ["export", "--model", src, "--format", "hf", "--dtype", "f32", "--output", out]
        }
    }

    func testFullDiskFailsCleanlyAndLeavesNothing() throws {
        let src = try midSizeCheckpoint()
        let disk = tmp.url.appendingPathComponent("small-disk")
        try FileManager.default.createDirectory(at: disk, withIntermediateDirectories: true)
        // A 4 MiB tmpfs: room for config and tokenizer files, not for the 60 MB of weights.
        let mount = try runProcess(URL(fileURLWithPath: "/bin/mount"), ["-t", "tmpfs", "-o", "size=4m", "tmpfs", disk.path],
                                   environment: ProcessInfo.processInfo.environment, timeout: 30)
        guard mount.status == 0 else {
            throw XCTSkip("cannot mount a small tmpfs here (needs root): \(mount.stderr)")
        }
        defer { _ = try? runProcess(URL(fileURLWithPath: "/bin/umount"), [disk.path], environment: [:], timeout: 30) }
        let runs: [(String, [String])] = [
            ("prune --output", ["prune", "--model", src, "--method", "magnitude", "--output", disk.appendingPathComponent("pruned").path]),
            ("export gguf", ["export", "--model", src, "--format", "gguf", "--dtype", "f32", "--output", disk.appendingPathComponent("m.gguf").path]),
            ("export hf", ["export", "--model", src, "--format", "hf", "--output", disk.appendingPathComponent("hf").path]),
        ]
        for (what, args) in runs {
            // Progress lines may come first; the run must end with one error line and exit 1.
            let r = try runCLI(args)
            XCTAssertEqual(r.reason, .exit, "\(what): killed by a signal: \(r.stderr)")
            XCTAssertEqual(r.status, 1, "\(what): \(r.stderr)")
            let last = r.stderr.split(separator: "\n").last.map(String.init) ?? ""
            XCTAssertTrue(last.hasPrefix("Error: cannot write") && last.contains("No space left on device"), "\(what): \(r.stderr)")
            XCTAssertEqual(r.stderr.components(separatedBy: "Error:").count, 2, "\(what): one error line: \(r.stderr)")
            XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: disk.path), [], "\(what) left something behind")
        }
    }

    // MARK: - Harness

    /// A random Llama of 15 M parameters (60 MB in f32): big enough that writing it takes long
    /// enough to be killed in the middle many times over.
    func midSizeCheckpoint() throws -> String {
        let dir = tmp.url.appendingPathComponent("mid-size").path
        if FileManager.default.fileExists(atPath: dir) { return dir }
        let layers = 4
        let config = ModelConfig(architecture: "llama", vocabSize: 2048, hiddenSize: 512, headDim: 64,
                                 numHeads: Array(repeating: 8, count: layers), numKVHeads: Array(repeating: 8, count: layers),
                                 intermediateSizes: Array(repeating: 1376, count: layers), rmsNormEps: 1e-5, ropeTheta: 10000,
                                 tieWordEmbeddings: false)
        _ = try RandomCheckpoint.write(config: config, seed: 3, dtype: .f32, to: dir, byteTokenizer: true)
        return dir
    }

    /// Runs `command(target)` once uninterrupted to learn when it starts writing and when the
    /// target appears, then 24 times killed with SIGKILL at moments spread before and over the
    /// writing, checking the target after each; a last run must succeed and leave no temporaries
    /// beside the target.
    func assertKillSafe(target name: String, isDirectory: Bool, command: (String) -> [String],
                        file: StaticString = #filePath, line: UInt = #line) throws {
        let refParent = tmp.url.appendingPathComponent("reference-\(name)"), parent = tmp.url.appendingPathComponent("killed-\(name)")
        for d in [refParent, parent] { try FileManager.default.createDirectory(at: d, withIntermediateDirectories: true) }
        let reference = refParent.appendingPathComponent(name).path, target = parent.appendingPathComponent(name).path

        let timeline = try run(command(reference), parent: refParent.path, target: name, killAfter: nil)
        XCTAssertEqual(timeline.status, 0, "uninterrupted run failed", file: file, line: line)
        let writeStart = try XCTUnwrap(timeline.writeStarted, "never saw a temporary of \(name) being written", file: file, line: line)
        let totalBytes = bytes(at: reference)
        let expected = try contents(of: reference, isDirectory: isDirectory)

        var duringWrite = 0, complete = 0, absent = 0
        for k in 0..<24 {
            let moment: KillMoment = k < 4 ? .afterStart(writeStart * Double(k + 1) / 5)
                : .whenWritten(Int(Double(totalBytes) * (Double(k - 4) + 0.5) / 20))
            // Even kills meet no target; odd ones an existing one (a copy of the reference), which
            // must never go missing: it is swapped for the new one in a single step.
            let replacing = k % 2 == 1
            try? FileManager.default.removeItem(atPath: target)
            if replacing { try FileManager.default.copyItem(atPath: reference, toPath: target) }
            let r = try run(command(target), parent: parent.path, target: name, killAfter: moment)
            if r.killedWhileWriting { duringWrite += 1 }
            let ctx = "kill \(k) (\(moment)) of \(command(target).prefix(1))"
            guard FileManager.default.fileExists(atPath: target) else {
                XCTAssertFalse(replacing, "\(ctx): the existing target went missing", file: file, line: line)
                absent += 1
                continue
            }
            complete += 1
            let got = try contents(of: target, isDirectory: isDirectory)
            XCTAssertEqual(got.files, expected.files, "\(ctx): the target's files", file: file, line: line)
            XCTAssertTrue(got.tensors == expected.tensors, "\(ctx): the target differs from an uninterrupted run's", file: file, line: line)
        }
        XCTAssertGreaterThanOrEqual(duringWrite, 13, "most kills must land while the output is being written", file: file, line: line)
        print("kill-safety \(name): \(duringWrite)/24 kills while writing \(totalBytes) bytes; target absent \(absent), complete \(complete)")

        let last = try runCLI(command(target))
        XCTAssertEqual(last.status, 0, last.stderr, file: file, line: line)
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: parent.path).filter { $0 != name }
        XCTAssertEqual(leftovers, [], "the killed runs' temporaries are swept by the next run", file: file, line: line)
        XCTAssertEqual(try contents(of: target, isDirectory: isDirectory).tensors, expected.tensors, file: file, line: line)
    }

    enum KillMoment: CustomStringConvertible {
        /// Seconds after the start; once the temporaries hold this many bytes.
        case afterStart(TimeInterval), whenWritten(Int)
        var description: String {
            switch self {
            case .afterStart(let s): return String(format: "%.0f ms after start", s * 1000)
            case .whenWritten(let b): return "at \(b) bytes written"
            }
        }
    }

    struct Timeline {
        var status: Int32
        /// Seconds from start until a temporary of the target held data (a stage with a file, or a temporary file).
        var writeStarted: TimeInterval?
        var killedWhileWriting: Bool
    }

    /// Runs the CLI, polling `parent` for the target's temporaries, and SIGKILLs it at `killAfter`.
    func run(_ args: [String], parent: String, target: String, killAfter: KillMoment?) throws -> Timeline {
        let p = Process()
        p.executableURL = try XCTUnwrap(CLIBinary.url)
        p.arguments = args
        var env = ProcessInfo.processInfo.environment
        env["SECATEUR_HOME"] = tmp.url.appendingPathComponent("default-home").path
        p.environment = env
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        p.standardInput = FileHandle.nullDevice
        let start = Date()
        try p.run()
        var writeStarted: TimeInterval?
        var killed = false, whileWriting = false
        while p.isRunning {
            let now = Date().timeIntervalSince(start)
            if writeStarted == nil, writing(in: parent, target: target, pid: p.processIdentifier) { writeStarted = now }
            let due: Bool
            switch killAfter {
            case .afterStart(let s)?: due = now >= s
            case .whenWritten(let b)?: due = !killed && staged(in: parent, target: target, pid: p.processIdentifier) >= b
            case nil: due = false
            }
            if due && !killed {
                whileWriting = writing(in: parent, target: target, pid: p.processIdentifier)
                kill(p.processIdentifier, SIGKILL)
                killed = true
            }
            usleep(200)
        }
        p.waitUntilExit()
        return Timeline(status: p.terminationStatus, writeStarted: writeStarted,
                        killedWhileWriting: whileWriting && p.terminationReason == .uncaughtSignal)
    }

    /// Bytes in a file or under a directory (hidden temporaries included).
    func bytes(at path: String) -> Int {
        let fm = FileManager.default
        var isDir: ObjCBool = false
        guard fm.fileExists(atPath: path, isDirectory: &isDir) else { return 0 }
        guard isDir.boolValue else { return (try? fm.attributesOfItem(atPath: path)[.size] as? Int) ?? 0 }
        return ((try? fm.contentsOfDirectory(atPath: path)) ?? []).reduce(0) { $0 + bytes(at: (path as NSString).appendingPathComponent($1)) }
    }

    /// Bytes process `pid` has written into temporaries of `target` in `parent` so far.
    func staged(in parent: String, target: String, pid: Int32) -> Int {
        let prefix = ".\(target).tmp-\(pid)"
        return ((try? FileManager.default.contentsOfDirectory(atPath: parent)) ?? []).filter { $0.hasPrefix(prefix) }
            .reduce(0) { $0 + bytes(at: (parent as NSString).appendingPathComponent($1)) }
    }

    /// Whether process `pid` has a temporary of `target` in `parent` that holds data yet.
    func writing(in parent: String, target: String, pid: Int32) -> Bool {
        let fm = FileManager.default
        let prefix = ".\(target).tmp-\(pid)"
        for e in (try? fm.contentsOfDirectory(atPath: parent)) ?? [] where e.hasPrefix(prefix) {
            let path = (parent as NSString).appendingPathComponent(e)
            var isDir: ObjCBool = false
            guard fm.fileExists(atPath: path, isDirectory: &isDir) else { continue }
            if !isDir.boolValue || !((try? fm.contentsOfDirectory(atPath: path)) ?? []).isEmpty { return true }
        }
        return false
    }

    /// A written target's file names (a directory's, sorted) and the bytes that must match an
    /// uninterrupted run's: every tensor and config.json, or a single file's whole content.
    /// pruning.json holds the run's seconds, so only its presence is compared.
    func contents(of path: String, isDirectory: Bool) throws -> (files: [String], tensors: [String: Data]) {
        guard isDirectory else {
            return ([(path as NSString).lastPathComponent], ["file": try Data(contentsOf: URL(fileURLWithPath: path))])
        }
        let files = try FileManager.default.contentsOfDirectory(atPath: path).sorted()
        var blobs = try checkpointTensors(path).mapValues { v in v.withUnsafeBytes { Data($0) } }
        blobs["config.json"] = try Data(contentsOf: URL(fileURLWithPath: path).appendingPathComponent("config.json"))
        return (files, blobs)
    }
}
