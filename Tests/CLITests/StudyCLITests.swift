import Experiments
import Foundation
import XCTest

/// `secateur study`, `results` and `report` end to end on a tiny model: a study killed with
/// SIGKILL at random moments and rerun ends with exactly the rows (and metrics) of an
/// uninterrupted run; bad studies are refused before any cell runs; a failing cell is stored
/// as failed while the study goes on; the report renders in headless Chromium; and the Slurm
/// job array runs on a real slurmctld/slurmd where `.ci/run` started one.
extension CLIErrorTests {
    /// A study of 6 cells on the tiny Llama with a byte-level tokenizer: dense, magnitude at two
    /// sparsities, Wanda 2:4, structured L2 with and without LoRA recovery.
    func tinyStudy(name: String = "tiny", extraPruning: String = "", evaluation: String? = nil) throws -> URL {
        let model = try tmp.modelDir("model-\(name)", from: "llama-gqa-tied-v700", tokenizer: true)
        let yaml = """
        name: \(name)
        models: [\(model.path)]
        pruning:
          - {method: magnitude, sparsity: [0.5, 0.7]}
          - {method: wanda, pattern: "2:4", nsamples: 2, seqlen: 16, calibration: bookcorpus}
          - method: l2
            ratio: 0.2
            attn_layers: 0-1
            recovery: [none, {method: lora, rank: 2, steps: 2, batch_size: 1, seqlen: 16, data: bookcorpus, max_examples: 8}]
        \(extraPruning)
        evaluation:
        \(evaluation ?? """
          perplexity: [{dataset: wikitext2, seqlen: 16, windows: 2}]
          tasks: [boolq, piqa]
          limit: 3
          efficiency: {prompt_length: 8, decode_tokens: 2, repetitions: 1, warmup: 0}
        """)
        """
        return tmp.write(Data(yaml.utf8), "\(name).yaml")
    }

    var dataEnvironment: [String: String] { get throws { ["SECATEUR_DATA": try Fixture.dataDirectory().path] } }

    func storedCells(_ db: URL) throws -> [StoredCell] { try ResultsStore.existing(path: db.path).cells() }

    /// The metrics that must not depend on how often the study was interrupted (timings do).
    func fingerprint(_ c: StoredCell) -> String {
        guard let r = c.record, case .studyCell(let x) = r.result else { return "\(c.key) \(c.status)" }
        let ppl = r.metrics.perplexity.map { "\($0.dataset)=\($0.value)" }.joined(separator: ",")
        let tasks = r.metrics.tasks.map { "\($0.task)=\($0.acc)/\($0.accNorm.map { "\($0)" } ?? "-")" }.joined(separator: ",")
        return "\(c.key) \(x.paramsNonzero) \(x.actual) \(ppl) \(tasks)"
    }

    func testStudyResumesAfterSIGKILLWithExactlyOneRowPerCell() throws {
        let env = try dataEnvironment
        let study = try tinyStudy()
        let reference = tmp.url.appendingPathComponent("reference.sqlite")
        let start = Date()
        let full = try runCLI(["study", study.path, "--db", reference.path, "--no-report", "--threads", "1"], environment: env)
        XCTAssertEqual(full.status, 0, full.stderr)
        let duration = Date().timeIntervalSince(start)
        let expected = try storedCells(reference)
        XCTAssertEqual(expected.count, 6)
        XCTAssertTrue(expected.allSatisfy { $0.status == .complete }, expected.map { "\($0.label): \($0.error ?? "")" }.joined(separator: "\n"))
        XCTAssertTrue(full.stdout.contains("Table 4"), full.stdout)

        // Kill at random moments of a run; when a run happens to finish first, its store is checked
        // against the reference and a new round starts from an empty store.
        let db = tmp.url.appendingPathComponent("killed.sqlite")
        let args = ["study", study.path, "--db", db.path, "--no-report", "--threads", "1"]
        func checkComplete() throws {
            let resumed = try storedCells(db)
            XCTAssertEqual(resumed.count, expected.count)
            XCTAssertEqual(Set(resumed.map(fingerprint)), Set(expected.map(fingerprint)))
        }
        var rng = SystemRandomNumberGenerator()
        var kills = 0, rounds = 0, rowsSeen: [Int] = []
        for _ in 0..<100 where kills < 24 {
            let moment = Double.random(in: 0.02...duration, using: &rng)
            if try launchAndKill(args, environment: env, after: moment) {
                kills += 1
            } else {
                try checkComplete()
                rounds += 1
                for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: db.path + suffix) }
                continue
            }
            // After every kill: only whole rows, each complete with its record, no duplicates.
            if FileManager.default.fileExists(atPath: db.path) {
                let rows = try storedCells(db)
                XCTAssertEqual(Set(rows.map(\.key)).count, rows.count)
                for r in rows {
                    XCTAssertEqual(r.status, .complete, "\(r.label): \(r.error ?? "")")
                    guard let rec = r.record, case .studyCell(let x) = rec.result else { XCTFail("row \(r.key) without a record"); continue }
                    XCTAssertEqual(x.cellKey, r.key)
                }
                rowsSeen.append(rows.count)
            }
        }
        XCTAssertGreaterThanOrEqual(kills, 20, "the study must be killed mid-run at least 20 times")
        print("  \(kills) kills over \(rounds + 1) rounds; rows after each kill: \(rowsSeen)")
        let last = try runCLI(args, environment: env)
        XCTAssertEqual(last.status, 0, last.stderr)
        try checkComplete()

        // A rerun of a finished study runs nothing.
        let again = try runCLI(["study", study.path, "--db", db.path, "--no-report"], environment: env)
        XCTAssertTrue(again.stderr.contains("6 already stored, 0 to run"), again.stderr)
        let dry = try runCLI(["study", study.path, "--db", db.path, "--dry-run", "--json"], environment: env)
        XCTAssertEqual(dry.stdout.trimmingCharacters(in: .whitespacesAndNewlines), "[]", "nothing left to run")
    }

    /// Starts the CLI and SIGKILLs it after `seconds`; true if it was still running then.
    func launchAndKill(_ args: [String], environment: [String: String], after seconds: Double) throws -> Bool {
        let p = Process()
        p.executableURL = try XCTUnwrap(CLIBinary.url)
        p.arguments = args
        var env = ProcessInfo.processInfo.environment
        env["SECATEUR_HOME"] = tmp.url.appendingPathComponent("default-home").path
        for (k, v) in environment { env[k] = v }
        p.environment = env
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        let deadline = Date().addingTimeInterval(seconds)
        while p.isRunning && Date() < deadline { usleep(2_000) }
        let wasRunning = p.isRunning
        if wasRunning { kill(p.processIdentifier, SIGKILL) }
        p.waitUntilExit()
        return wasRunning && p.terminationReason == .uncaughtSignal
    }

    func testStudyDryRunJSONListsTheCellsAndStoresNothing() throws {
        let study = try tinyStudy(name: "dry")
        let db = tmp.url.appendingPathComponent("dry.sqlite")
        let r = try runCLI(["study", study.path, "--db", db.path, "--dry-run", "--json"], environment: try dataEnvironment)
        XCTAssertEqual(r.status, 0, r.stderr)
        let cells = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [[String: Any]], r.stdout)
        XCTAssertEqual(cells.count, 6)
        XCTAssertEqual(Set(cells.compactMap { $0["key"] as? String }).count, 6)
        XCTAssertEqual(cells.first?["label"] as? String, "dense")
        XCTAssertTrue(cells.allSatisfy { ($0["estimated_seconds"] as? Double ?? 0) > 0 })
        XCTAssertFalse(FileManager.default.fileExists(atPath: db.path))
    }

    func testStudyRefusesBadInputBeforeAnyCellRuns() throws {
        let env = try dataEnvironment
        let db = tmp.url.appendingPathComponent("bad.sqlite")
        func refuse(_ file: URL, _ what: String, mentions: [String], environment: [String: String]? = nil) throws {
            let r = try runCLI(["study", file.path, "--db", db.path], environment: environment ?? env)
            assertCleanFailure(r, what, mentions: mentions)
            XCTAssertFalse(FileManager.default.fileExists(atPath: db.path), "\(what): nothing may be stored")
        }
        try refuse(tmp.write(Data("models: [m]\npruning:\n  - {method: wanda, sparsity: [0.5\n".utf8), "malformed.yaml"),
                   "malformed YAML", mentions: ["malformed.yaml", "malformed YAML at line", "column"])
        try refuse(tmp.write(Data("models: [m]\npruning:\n  - method: wanda\n    sparsty: 0.5\n".utf8), "unknown.yaml"),
                   "unknown key", mentions: ["unknown.yaml:4:5", "unknown key 'sparsty'"])
        try refuse(try tinyStudy(name: "unreachable", extraPruning: "  - {method: l1, ratio: 0.95, attn_layers: 0-1}"),
                   "unreachable ratio", mentions: ["l1 block 95%", "unreachable"])
        try refuse(try tinyStudy(name: "noptb", evaluation: "  perplexity: [{dataset: ptb, seqlen: 16, windows: 2}]"),
                   "missing dataset", mentions: ["perplexity ptb", "ptb"], environment: ["SECATEUR_DATA": tmp.url.path])
        try refuse(tmp.write(Data("models: [/nonexistent/model.gguf]\n".utf8), "nomodel.yaml"), "missing model", mentions: ["/nonexistent/model.gguf"])
        assertCleanFailure(try runCLI(["study", "--preset", "nosuch"]), "unknown preset", mentions: ["nosuch"], usageAllowed: true)
    }

    func testAFailingCellIsStoredAsFailedAndTheStudyGoesOn() throws {
        // The recovery file exists (the plan accepts it) but holds no text to train on.
        let empty = tmp.write(Data(), "empty.txt")
        let study = try tinyStudy(name: "failing", extraPruning: """
          - {method: magnitude, sparsity: 0.6, recovery: [{method: lora, rank: 2, steps: 1, seqlen: 16, data: \(empty.path)}]}
        """, evaluation: "  perplexity: [{dataset: wikitext2, seqlen: 16, windows: 1}]")
        let db = tmp.url.appendingPathComponent("failing.sqlite")
        let report = tmp.url.appendingPathComponent("failing-report")
        let r = try runCLI(["study", study.path, "--db", db.path, "--report", report.path], environment: try dataEnvironment)
        XCTAssertEqual(r.status, 0, r.stderr)
        let rows = try storedCells(db)
        XCTAssertEqual(rows.count, 7)
        let failed = rows.filter { $0.status == .failed }
        XCTAssertEqual(failed.map(\.label), ["magnitude 60% + lora"])
        XCTAssertTrue(failed.first?.error?.contains("empty.txt") ?? false, failed.first?.error ?? "")
        XCTAssertTrue(r.stdout.contains("Failed cells"), r.stdout)

        // results list --json: the stored records with key and status; export --csv: a line per cell.
        let list = try runCLI(["results", "list", "--db", db.path, "--json"])
        let items = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(list.stdout.utf8)) as? [[String: Any]], list.stdout)
        XCTAssertEqual(items.count, 7)
        XCTAssertEqual(items.filter { $0["status"] as? String == "complete" }.count, 6)
        XCTAssertTrue(items.allSatisfy { ($0["cell_key"] as? String)?.count == 64 })
        XCTAssertEqual(items.first { $0["status"] as? String == "complete" }?["command"] as? String, "study_cell")
        let csv = try runCLI(["results", "export", "--db", db.path, "--csv"])
        XCTAssertEqual(csv.stdout.split(separator: "\n").count, 8, csv.stdout)
        XCTAssertTrue(csv.stdout.hasPrefix("cell_key,study,status,label"), csv.stdout)
        let key = try XCTUnwrap(items.first?["cell_key"] as? String)
        let show = try runCLI(["results", "show", String(key.prefix(10)), "--db", db.path])
        XCTAssertEqual(show.status, 0, show.stderr)
        XCTAssertTrue(show.stdout.contains(key), show.stdout)
        assertCleanFailure(try runCLI(["results", "list", "--db", tmp.url.appendingPathComponent("none.sqlite").path]),
                           "missing database", mentions: ["none.sqlite"])
        for f in ["report.md", "report.html", "plots/ppl-vs-sparsity.svg"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: report.appendingPathComponent(f).path), f)
        }
    }

    /// The report renders: every plot has drawn paths with length, the page logs no errors, and a
    /// PNG screenshot comes out. Needs Chromium (`.ci/run` installs it).
    func testReportRendersInHeadlessChromium() throws {
        guard let chromium = ["chromium", "chromium-browser", "google-chrome"].lazy.compactMap(which).first else {
            if Fixture.requireAll { XCTFail("chromium not installed (.ci/run installs it)") }
            throw XCTSkip("chromium is not installed: the report rendering check needs it (apt-get install chromium)")
        }
        let env = try dataEnvironment
        let db = tmp.url.appendingPathComponent("render.sqlite")
        let r = try runCLI(["study", try tinyStudy(name: "render").path, "--db", db.path, "--no-report"], environment: env)
        XCTAssertEqual(r.status, 0, r.stderr)
        let out = tmp.url.appendingPathComponent("report")
        let rep = try runCLI(["report", "--db", db.path, "--out", out.path])
        XCTAssertEqual(rep.status, 0, rep.stderr)
        let html = try String(contentsOf: out.appendingPathComponent("report.html"), encoding: .utf8)
        for external in ["<script", "src=\"http", "href=\"http", "@import", "url("] {
            XCTAssertFalse(html.contains(external), "report.html must be self-contained: \(external)")
        }
        let plotIDs = ["ppl-vs-sparsity", "accuracy-vs-params", "speedup-vs-sparsity", "accuracy-vs-bytes"]
        for id in plotIDs { XCTAssertTrue(html.contains("id=\"\(id)\""), id) }

        // A copy with a probe script measures the drawn geometry in the browser.
        let probe = """
        <script>
        const out = [];
        window.addEventListener('error', e => out.push('ERROR ' + e.message));
        for (const svg of document.querySelectorAll('svg.plot')) {
          const paths = [...svg.querySelectorAll('path.series')];
          const drawn = paths.filter(p => p.getTotalLength() > 0 || p.getBBox().width + p.getBBox().height > 0);
          out.push(svg.id + ' ' + paths.length + ' ' + drawn.length + ' ' + svg.querySelectorAll('circle').length);
        }
        const pre = document.createElement('pre'); pre.id = 'probe'; pre.textContent = out.join('\\n'); document.body.appendChild(pre);
        </script>
        """
        let probed = out.appendingPathComponent("probe.html")
        try html.replacingOccurrences(of: "</body>", with: probe + "</body>").write(to: probed, atomically: false, encoding: .utf8)
        let flags = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--enable-logging=stderr", "--v=0",
                     "--user-data-dir=\(tmp.url.appendingPathComponent("chromium").path)"]
        let dom = try shell(chromium, flags + ["--dump-dom", probed.absoluteString])
        let text = try XCTUnwrap(dom.stdout.range(of: "<pre id=\"probe\">").map { String(dom.stdout[$0.upperBound...].prefix { $0 != "<" }) },
                                 "no probe output: \(dom.stdout.prefix(400)) \(dom.stderr.suffix(400))")
        let lines = text.split(separator: "\n").map(String.init)
        XCTAssertFalse(lines.contains { $0.hasPrefix("ERROR") }, text)
        for id in plotIDs {
            let f = try XCTUnwrap(lines.first { $0.hasPrefix(id + " ") }, "plot \(id) missing: \(text)").split(separator: " ").compactMap { Int($0) }
            // A one-point series is a marker without a line; every plot here has a series of several points.
            XCTAssertGreaterThan(f[0], 0, "\(id): no series paths")
            XCTAssertGreaterThan(f[1], 0, "\(id): no series path has a drawn length")
            XCTAssertGreaterThanOrEqual(f[2], f[0], "\(id): fewer markers than series")
        }
        let png = tmp.url.appendingPathComponent("report.png")
        let shot = try shell(chromium, flags + ["--screenshot=\(png.path)", "--window-size=1280,3000",
                                                out.appendingPathComponent("report.html").absoluteString])
        let console = shot.stderr.split(separator: "\n").filter { $0.contains("CONSOLE") || $0.contains("Uncaught") }
        XCTAssertTrue(console.isEmpty, "the page logged: \(console.joined(separator: "\n"))")
        let image = try Data(contentsOf: png)
        XCTAssertEqual(Array(image.prefix(8)), [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A], "not a PNG")
        XCTAssertGreaterThan(image.count, 20_000, "a blank page compresses to almost nothing")
    }

    /// The 4-cell array on a real one-node Slurm (`.ci/run` starts munged, slurmctld and slurmd
    /// and sets SECATEUR_SLURM=1), collected twice into the store.
    func testSlurmJobArrayRunsAndCollects() throws {
        guard ProcessInfo.processInfo.environment["SECATEUR_SLURM"] == "1" else {
            if Fixture.requireAll { XCTFail("CI must run the Slurm check (.ci/run sets SECATEUR_SLURM=1 once Slurm is up)") }
            throw XCTSkip("no local Slurm (set SECATEUR_SLURM=1 with slurmctld and slurmd running; scripts/slurm-local.sh starts them)")
        }
        let env = try dataEnvironment
        let model = try tmp.modelDir("model-slurm", from: "llama-gqa-tied-v700", tokenizer: true)
        let yaml = """
        name: slurm4
        models: [\(model.path)]
        pruning:
          - {method: magnitude, sparsity: [0.5, 0.7]}
          - {method: l2, ratio: 0.2, attn_layers: 0-1}
        evaluation:
          perplexity: [{dataset: wikitext2, seqlen: 16, windows: 2}]
        slurm: {cpus_per_task: 1, mem: 1G, time: "00:10:00", max_concurrent: 2}
        """
        let study = tmp.write(Data(yaml.utf8), "slurm4.yaml")
        let dir = tmp.url.appendingPathComponent("slurm")
        let w = try runCLI(["study", study.path, "--slurm", "--slurm-dir", dir.path], environment: env)
        XCTAssertEqual(w.status, 0, w.stderr)
        let script = dir.appendingPathComponent("study.sbatch")
        let text = try String(contentsOf: script, encoding: .utf8)
        XCTAssertTrue(text.contains("#SBATCH --array=0-3%2"), text)
        var sbatchEnv = ProcessInfo.processInfo.environment
        for (k, v) in env { sbatchEnv[k] = v }
        let submit = try shell("sbatch", ["--wait", script.path], environment: sbatchEnv, timeout: 600)
        XCTAssertEqual(submit.status, 0, "sbatch: \(submit.stdout) \(submit.stderr)")
        let db = tmp.url.appendingPathComponent("slurm.sqlite")
        for _ in 0..<2 {
            let c = try runCLI(["study", "collect", "--records", dir.appendingPathComponent("records").path, "--db", db.path])
            XCTAssertEqual(c.status, 0, c.stderr)
        }
        let rows = try storedCells(db)
        XCTAssertEqual(rows.count, 4, rows.map { "\($0.label) \($0.status) \($0.error ?? "")" }.joined(separator: "; "))
        XCTAssertTrue(rows.allSatisfy { $0.status == .complete }, rows.map { $0.error ?? "" }.joined(separator: "; "))
        // The same study run locally finds every cell already stored.
        let local = try runCLI(["study", study.path, "--db", db.path, "--no-report"], environment: env)
        XCTAssertTrue(local.stderr.contains("4 already stored, 0 to run"), local.stderr)
    }

    func which(_ name: String) -> String? {
        for dir in (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":") {
            let p = "\(dir)/\(name)"
            if FileManager.default.isExecutableFile(atPath: p) { return p }
        }
        return nil
    }

    /// Runs a program (found on PATH) to completion.
    func shell(_ program: String, _ args: [String], environment: [String: String]? = nil, timeout: TimeInterval = 120) throws -> RunResult {
        let path = program.hasPrefix("/") ? program : try XCTUnwrap(which(program), "\(program) not on PATH")
        return try runProcess(URL(fileURLWithPath: path), args, environment: environment ?? ProcessInfo.processInfo.environment,
                              timeout: timeout)
    }
}
