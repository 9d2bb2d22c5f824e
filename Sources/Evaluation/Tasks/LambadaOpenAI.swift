import Foundation

/// LAMBADA as lm-evaluation-harness v0.4 `lambada_openai` defines it (`lambada/lambada_openai.yaml`):
/// OpenAI's detokenised test file, one `{"text": ...}` per line; output_type loglikelihood with
/// `doc_to_text: text.split(' ')[:-1]|join(' ')` and `doc_to_target: ' ' + text.split(' ')[-1]`.
/// The request is (context, target) as is: a loglikelihood task adds no target_delimiter.
public enum LambadaOpenAI {
    /// The data file, relative to the data folder.
    public static let file = "lambada/lambada_test.jsonl"

    /// Context and target of one text. The split is on the single space character (Python
    /// `str.split(' ')`, not on whitespace), so a target may carry a quote mark or a line break
    /// (MANIFEST.md: 41 of the 5153 targets are not bare words); a Unicode scalar search keeps a
    /// space followed by a combining mark a space, as in Python.
    public static func request(text: String) -> TaskRequest? {
        guard let space = text.unicodeScalars.lastIndex(of: " ") else { return nil }
        return TaskRequest(context: String(text.unicodeScalars[..<space]),
                           continuation: String(text.unicodeScalars[space...]))
    }

    /// The first `limit` documents (all when nil), in file order; gold 0 names the only request.
    public static func documents(data: DataDirectory, limit: Int? = nil) throws -> [TaskDocument] {
        let url = try data.file(file, hint: "lambada_openai data")
        return try JSONLines.numberedObjects(url, limit: limit).enumerated().map { i, item in
            let f = Fields(item.object, file: url.path, line: item.line)
            let text = try f.string("text")
            guard let r = request(text: text) else { throw f.error("text has no space to split the last word off") }
            return TaskDocument(index: i, requests: [r], choices: [r.continuation], gold: 0)
        }
    }
}
