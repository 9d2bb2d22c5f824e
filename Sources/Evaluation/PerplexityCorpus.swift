import Foundation

/// How a perplexity text is assembled from a dataset (DESIGN.md §7).
public enum PerplexityProtocol: String, CaseIterable, Codable, Sendable {
    /// Wanda / SparseGPT / RIA / OWL evaluation code.
    case wanda
    /// LLM-Pruner's evaluator (PTB validation, "\n\n"-joined, short windows).
    case llmPruner = "llm-pruner"

    public var defaultSeqlen: Int { self == .wanda ? 2048 : 128 }
}

public enum PerplexityCorpus {
    public static let datasets = ["wikitext2", "ptb", "c4"]

    /// WikiText-2 test rows as Hugging Face datasets yields them: each line keeps its "\n",
    /// whitespace-only lines become "".
    public static func wikitext2Rows(_ raw: String) -> [String] {
        var rows: [String] = []
        var current = ""
        for ch in raw.unicodeScalars {
            current.unicodeScalars.append(ch)
            if ch == "\n" {
                rows.append(current.allSatisfy(\.isWhitespace) ? "" : current)
                current = ""
            }
        }
        if !current.isEmpty { rows.append(current.allSatisfy(\.isWhitespace) ? "" : current) }
        return rows
    }

    /// PTB sentences as `ptb_text_only` yields them: each line stripped.
    public static func ptbSentences(_ raw: String) -> [String] {
        var lines = raw.components(separatedBy: "\n")
        if lines.last == "" { lines.removeLast() }
        return lines.map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
    }

    /// The evaluation text for `dataset` under `proto`.
    public static func text(dataset: String, protocol proto: PerplexityProtocol, data: DataDirectory) throws -> String {
        switch (dataset, proto) {
        case ("wikitext2", _):
            let raw = try data.text("wikitext2/wiki.test.raw", hint: "WikiText-2 raw test split")
            return wikitext2Rows(raw).joined(separator: "\n\n")
        case ("ptb", .wanda):
            let raw = try data.text("ptb/ptb.test.txt", hint: "Penn Treebank test split")
            return ptbSentences(raw).joined(separator: " ")
        case ("ptb", .llmPruner):
            let raw = try data.text("ptb/ptb.valid.txt", hint: "Penn Treebank validation split")
            return ptbSentences(raw).joined(separator: "\n\n")
        case ("c4", _):
            let rel = "c4/c4-validation.00000-of-00008.json"
            let candidates = [rel, rel + "l", "c4/c4-validation.00000-of-00008.jsonl"]
            guard let found = candidates.first(where: { FileManager.default.fileExists(atPath: data.url.appendingPathComponent($0).path) }) else {
                throw DatasetError.missingFile(expected: rel, dataDirectory: data.url.path,
                                               hint: "C4 validation shard 00000, JSON lines with a 'text' field; the train shard is for calibration only")
            }
            let docs = try JSONLines.texts(try data.file(found, hint: "C4 validation"), field: "text", limit: 1100)
            return docs.joined(separator: " ")
        default:
            throw DatasetError.unknownDataset(dataset, supported: datasets)
        }
    }
}
