import Evaluation
import Foundation
import ModelIO

/// The rows of a results store as JSON (the run records themselves) or CSV (one flat line per
/// cell, the columns a spreadsheet or pandas wants).
public enum ResultsExport {
    /// A JSON array: each complete cell's run record with `cell_key` and `status` added; each
    /// failed cell as `{cell_key, status, label, error, settings}`.
    public static func jsonArray(_ cells: [StoredCell]) throws -> Data {
        var items: [Any] = []
        let enc = JSONEncoder()
        enc.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        for c in cells {
            var obj: [String: Any]
            if let r = c.record {
                obj = try JSONSerialization.jsonObject(with: r.compactJSON()) as? [String: Any] ?? [:]
            } else {
                obj = ["label": c.label, "error": c.error ?? "",
                       "settings": try JSONSerialization.jsonObject(with: enc.encode(c.cell))]
            }
            obj["cell_key"] = c.key
            obj["status"] = c.status.rawValue
            obj["study"] = c.study
            items.append(obj)
        }
        return try JSONSerialization.data(withJSONObject: items, options: [.sortedKeys, .withoutEscapingSlashes])
    }

    /// One line per cell; perplexity and task columns for every dataset and task any cell has.
    public static func csv(_ cells: [StoredCell]) -> String {
        var pplColumns: [String] = []
        var taskColumns: [String] = []
        for c in cells {
            for m in c.record?.metrics.perplexity ?? [] where !pplColumns.contains(m.dataset) { pplColumns.append(m.dataset) }
            for t in c.record?.metrics.tasks ?? [] where !taskColumns.contains(t.task) { taskColumns.append(t.task) }
        }
        taskColumns = ZeroShotTask.allCases.map(\.rawValue).filter(taskColumns.contains)
        let header = ["cell_key", "study", "status", "label", "model", "method", "structure", "ratio_meaning", "requested", "actual",
                      "params_removed", "params_nonzero", "recovery"] + pplColumns.map { "ppl_\($0)" } + taskColumns
            + ["tasks_average", "decode_tokens_per_second", "prefill_tokens_per_second", "weights_bytes", "seconds", "error"]
        var lines = [header.joined(separator: ",")]
        func f(_ x: Double?) -> String { x.map { String($0) } ?? "" }
        for c in cells {
            var row = [c.key, c.study, c.status.rawValue, c.label, c.model, c.cell.pruning.method, c.cell.pruning.structure,
                       c.cell.pruning.ratioMeaning, String(c.cell.pruning.requested)]
            var result: StudyCellResult?
            if let r = c.record, case .studyCell(let x) = r.result { result = x }
            row += [f(result?.actual), f(result?.paramsRemoved), result.map { String($0.paramsNonzero) } ?? "", c.cell.recoveryLabel ?? ""]
            row += pplColumns.map { d in f(c.record?.metrics.perplexity.first { $0.dataset == d }?.value) }
            row += taskColumns.map { t in
                f(c.record?.metrics.tasks.first { $0.task == t }.map(\.reportedValue))
            }
            row += [f(result?.tasksAverage), f(result?.efficiency?.decodeTokensPerSecond), f(result?.efficiency?.prefillTokensPerSecond),
                    result?.efficiency.map { String($0.weightsBytes) } ?? "", String(c.seconds), c.error ?? ""]
            lines.append(row.map(csvField).joined(separator: ","))
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// Writes an export to `path` atomically.
    public static func write(_ data: Data, to path: String) throws { try writeFileAtomically(data, to: path) }

    /// RFC 4180: quoted when it holds a comma, quote or line break; quotes doubled.
    static func csvField(_ s: String) -> String {
        guard s.contains(where: { $0 == "," || $0 == "\"" || $0.isNewline }) else { return s }
        return "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}
