import Evaluation
import Foundation

/// A table of the report, as text cells (the writers only lay it out).
public struct ReportTable {
    public var id: String
    public var title: String
    /// What the numbers are (protocols, windows, limits), printed under the title.
    public var caption: String
    public var header: [String]
    public var rows: [[String]]
}

/// The study's tables and plots, built from the results store only (DESIGN.md §10): the base
/// model (the motivating study's Table 2), parameters requested vs actual (Table 3), perplexity
/// and zero-shot accuracy without and with recovery (Tables 4–6), and efficiency (Table 7);
/// plots of perplexity vs sparsity per method (log axis), task average vs parameters left,
/// decode speed-up vs sparsity, and accuracy vs weight bytes with the Pareto front.
public struct StudyReport {
    public var title: String
    public var notes: [String]
    public var tables: [ReportTable]
    public var plots: [SVGPlot]

    /// One complete cell, unpacked.
    struct Row {
        var stored: StoredCell
        var record: RunRecord
        var result: StudyCellResult
        var isDense: Bool { stored.cell.pruning == .dense }
        /// Whether the report holds several models (then each family names its model).
        var multiModel = false
        /// "wanda unstructured", "taylor block (model)", "sparsegpt N:M".
        var family: String {
            let r = result
            let name: String
            if r.method == "dense" { name = "dense" }
            else if r.structure.contains(":") { name = "\(r.method) N:M" }
            else if r.ratioMeaning == "matrices" { name = "\(r.method) \(r.structure)" }
            else { name = "\(r.method) \(r.structure) (\(r.ratioMeaning))" }
            return multiModel ? "\(URL(fileURLWithPath: stored.model).lastPathComponent): \(name)" : name
        }
        func perplexity(_ key: PPLKey) -> Double? {
            record.metrics.perplexity.first { PPLKey($0) == key }?.value
        }
        func task(_ name: String) -> TaskMetricRecord? { record.metrics.tasks.first { $0.task == name } }
    }

    struct PPLKey: Hashable {
        var dataset: String, proto: String, seqlen: Int, windows: Int
        init(_ m: PerplexityMetric) { dataset = m.dataset; proto = m.protocol; seqlen = m.seqlen; windows = m.windows }
        var column: String { "\(dataset) ppl" }
        var describe: String { "\(dataset) (\(proto) protocol, \(windows) windows of \(seqlen) tokens)" }
    }

    public init(cells: [StoredCell], title: String? = nil) {
        let several = Set(cells.map(\.modelSHA256)).count > 1
        let rows: [Row] = cells.compactMap { c in
            guard c.status == .complete, let r = c.record, case .studyCell(let result) = r.result else { return nil }
            return Row(stored: c, record: r, result: result, multiModel: several)
        }
        let failed = cells.filter { $0.status == .failed }
        let studies = Array(Set(cells.map(\.study))).sorted()
        self.title = title ?? "Secateur study report: \(studies.joined(separator: ", "))"

        var pplKeys: [PPLKey] = []
        for r in rows { for m in r.record.metrics.perplexity where !pplKeys.contains(PPLKey(m)) { pplKeys.append(PPLKey(m)) } }
        let taskNames = ZeroShotTask.allCases.map(\.rawValue).filter { t in rows.contains { $0.task(t) != nil } }
        let limits = Set(rows.map { $0.stored.cell.evaluation.limit })
        var notes = ["\(cells.count) cells stored: \(rows.count) complete, \(failed.count) failed."]
        if !pplKeys.isEmpty { notes.append("Perplexity: " + pplKeys.map(\.describe).joined(separator: "; ") + ".") }
        if !taskNames.isEmpty {
            let lim = limits.map { $0.map { "first \($0) documents of each task" } ?? "all documents" }.sorted().joined(separator: " / ")
            notes.append("Zero-shot tasks (lm-evaluation-harness scoring; acc_norm for hellaswag, arc_challenge, openbookqa, acc otherwise): "
                         + taskNames.joined(separator: ", ") + "; \(lim). Average = mean of the reported metrics.")
        }
        notes.append("Removed = share of the dense model's parameters that are gone (structured) or zero (unstructured), embeddings included.")
        if let env = rows.first?.record.environment {
            notes.append("Machine: \(env.cpu ?? "unknown CPU"), \(env.logicalCores) logical cores, \(env.threads) threads; Secateur \(env.secateurVersion)\(env.gitCommit.map { " (\($0.prefix(12)))" } ?? "").")
        }
        self.notes = notes

        func pct(_ x: Double) -> String { String(format: "%.2f", x * 100) }
        func num(_ x: Double?, _ fmt: String = "%.2f") -> String { x.map { String(format: fmt, $0) } ?? "–" }
        func acc(_ r: Row, _ t: String) -> String { r.task(t).map { String(format: "%.2f", $0.reportedValue * 100) } ?? "–" }
        func millions(_ n: Int) -> String { String(format: "%.2f M", Double(n) / 1e6) }
        let ordered = rows.sorted { a, b in
            if a.isDense != b.isDense { return a.isDense }
            if a.family != b.family { return a.family < b.family }
            if a.result.requested != b.result.requested { return a.result.requested < b.result.requested }
            return (a.result.recovery ?? "") < (b.result.recovery ?? "")
        }
        let dense = ordered.filter(\.isDense)
        let plain = ordered.filter { !$0.isDense && $0.result.recovery == nil }
        let recovered = ordered.filter { $0.result.recovery != nil }
        let quality = pplKeys.map(\.column) + taskNames + (taskNames.isEmpty ? [] : ["average"])
        func qualityCells(_ r: Row) -> [String] {
            pplKeys.map { num(r.perplexity($0)) } + taskNames.map { acc(r, $0) }
                + (taskNames.isEmpty ? [] : [num(r.result.tasksAverage.map { $0 * 100 })])
        }

        var tables: [ReportTable] = []
        tables.append(ReportTable(id: "base", title: "Table 2. The base model", caption: "Dense cells: the models as loaded.",
                                  header: ["model", "parameters"] + quality,
                                  rows: dense.map { [$0.stored.model, millions($0.result.paramsTotal)] + qualityCells($0) }))
        tables.append(ReportTable(
            id: "ratios", title: "Table 3. Pruning ratio requested vs actual",
            caption: "Requested: the setting, a share of the pruned matrices (unstructured) or of the model / of each layer (structured, its meaning). Actual: the same share measured (zeros over the pruned matrices; parameters removed from the model).",
            header: ["cell", "method", "structure", "meaning", "requested %", "actual %", "parameters left", "non-zero", "removed %"],
            rows: plain.map { r in
                [r.stored.label, r.result.method, r.result.structure, r.result.ratioMeaning, pct(r.result.requested), pct(r.result.actual),
                 millions(r.result.paramsTotal), millions(r.result.paramsNonzero), pct(r.result.paramsRemoved)]
            }))
        tables.append(ReportTable(id: "quality", title: "Table 4. Perplexity and zero-shot accuracy after pruning (no recovery)",
                                  caption: "Accuracies in %, perplexity lower is better.",
                                  header: ["cell", "removed %"] + quality,
                                  rows: (dense + plain).map { [$0.stored.label, pct($0.result.paramsRemoved)] + qualityCells($0) }))
        if !recovered.isEmpty {
            func sibling(_ r: Row) -> Row? {
                plain.first { $0.stored.cell.pruning == r.stored.cell.pruning && $0.stored.model == r.stored.model }
            }
            tables.append(ReportTable(
                id: "recovered", title: "Table 5. After recovery fine-tuning",
                caption: "Recovered cells; Δ average: change of the task average against the same pruning without recovery (points).",
                header: ["cell", "removed %"] + quality + ["Δ average", "train tokens"],
                rows: recovered.map { r in
                    var delta = "–"
                    if let a = r.result.tasksAverage, let b = sibling(r)?.result.tasksAverage { delta = String(format: "%+.2f", (a - b) * 100) }
                    var tokens = "–"
                    if let rec = r.result.recover, case .recover(let rr) = rec.result { tokens = "\(rr.tokensSeen)" }
                    return [r.stored.label, pct(r.result.paramsRemoved)] + qualityCells(r) + [delta, tokens]
                }))
            let pplRows: [[String]] = recovered.compactMap { r in
                guard let s = sibling(r), let k = pplKeys.first, let a = s.perplexity(k), let b = r.perplexity(k) else { return nil }
                return [r.stored.label, num(a), num(b), String(format: "%+.1f %%", (b / a - 1) * 100)]
            }
            if !pplRows.isEmpty {
                tables.append(ReportTable(id: "recovery-effect", title: "Table 6. Perplexity before and after recovery",
                                          caption: "\(pplKeys.first!.describe).", header: ["cell", "pruned", "recovered", "change"], rows: pplRows))
            }
        }
        let withEfficiency = ordered.filter { $0.result.efficiency != nil }
        if !withEfficiency.isEmpty {
            func denseDecode(_ model: String) -> Double? { dense.first { $0.stored.model == model }?.result.efficiency?.decodeTokensPerSecond }
            tables.append(ReportTable(
                id: "efficiency", title: "Table 7. Parameters, MACs, memory and speed",
                caption: "GMACs per token counting non-zero weights; weight memory in the storage the benchmark chose; speed on this machine (batch 1).",
                header: ["cell", "parameters", "non-zero", "GMACs/token", "weights MB", "storage", "prefill tok/s", "decode tok/s", "decode speed-up"],
                rows: withEfficiency.map { r in
                    let e = r.result.efficiency!
                    let up = denseDecode(r.stored.model).map { String(format: "%.2f×", e.decodeTokensPerSecond / $0) } ?? "–"
                    return [r.stored.label, millions(e.paramsTotal), millions(e.paramsNonzero), String(format: "%.3f", e.macsPerTokenNonzero / 1e9),
                            String(format: "%.1f", Double(e.weightsBytes) / 1_048_576), e.sparseFormat,
                            String(format: "%.0f", e.prefillTokensPerSecond), String(format: "%.1f", e.decodeTokensPerSecond), up]
                }))
        }
        if !failed.isEmpty {
            tables.append(ReportTable(id: "failed", title: "Failed cells", caption: "Stored with their errors; rerun the study to retry them.",
                                      header: ["cell", "error"], rows: failed.map { [$0.label, $0.error ?? ""] }))
        }
        self.tables = tables

        // Plots: one series per method family (one color each, in every plot), recovered cells dashed.
        var families = ["dense"]
        for r in ordered where !families.contains(r.family) { families.append(r.family) }
        func series(_ rs: [Row], _ point: (Row) -> (x: Double, y: Double)?) -> [SVGPlot.Series] {
            var order: [String] = []
            var groups: [String: [(x: Double, y: Double)]] = [:]
            for r in rs where !r.isDense {
                let name = r.family + (r.result.recovery.map { " +\($0)" } ?? "")
                guard let p = point(r) else { continue }
                if groups[name] == nil { order.append(name) }
                groups[name, default: []].append(p)
            }
            return order.map { name in
                let family = name.components(separatedBy: " +").first ?? name
                return SVGPlot.Series(name: name, points: groups[name]!, dashed: name.contains(" +"), color: families.firstIndex(of: family))
            }
        }
        var plots: [SVGPlot] = []
        if let k = pplKeys.first {
            var p = SVGPlot(id: "ppl-vs-sparsity", title: "Perplexity vs sparsity", xLabel: "parameters removed (%)",
                            yLabel: "\(k.dataset) perplexity", logY: true,
                            series: series(ordered) { r in r.perplexity(k).map { (r.result.paramsRemoved * 100, $0) } })
            if dense.count == 1, let d = dense[0].perplexity(k) { p.reference = (d, "dense") }
            plots.append(p)
        }
        if !taskNames.isEmpty {
            var p = SVGPlot(id: "accuracy-vs-params", title: "Task average vs parameters left", xLabel: "non-zero parameters (M)",
                            yLabel: "\(taskNames.count)-task average (%)",
                            series: series(ordered) { r in r.result.tasksAverage.map { (Double(r.result.paramsNonzero) / 1e6, $0 * 100) } })
            if dense.count == 1, let d = dense[0].result.tasksAverage { p.reference = (d * 100, "dense") }
            plots.append(p)
        }
        if !withEfficiency.isEmpty {
            var p = SVGPlot(id: "speedup-vs-sparsity", title: "Decode speed-up vs sparsity", xLabel: "parameters removed (%)",
                            yLabel: "decode speed-up over dense (×)",
                            series: series(withEfficiency) { r in
                                guard let e = r.result.efficiency,
                                      let d = dense.first(where: { $0.stored.model == r.stored.model })?.result.efficiency else { return nil }
                                return (r.result.paramsRemoved * 100, e.decodeTokensPerSecond / d.decodeTokensPerSecond)
                            })
            p.reference = (1, "dense")
            plots.append(p)
            if !taskNames.isEmpty {
                let point = { (r: Row) -> (x: Double, y: Double)? in
                    guard let e = r.result.efficiency, let a = r.result.tasksAverage else { return nil }
                    return (Double(e.weightsBytes) / 1_048_576, a * 100)
                }
                var s = series(withEfficiency, point)
                for d in dense.reversed() {
                    if let pt = point(d) { s.insert(SVGPlot.Series(name: d.family, points: [pt], color: 0), at: 0) }
                }
                var p = SVGPlot(id: "accuracy-vs-bytes", title: "Accuracy vs weight memory", xLabel: "weight memory (MB)",
                                yLabel: "\(taskNames.count)-task average (%)", series: s)
                p.pareto = SVGPlot.paretoFront(withEfficiency.compactMap(point))
                plots.append(p)
            }
        }
        self.plots = plots.filter { !$0.isEmpty }
    }
}
