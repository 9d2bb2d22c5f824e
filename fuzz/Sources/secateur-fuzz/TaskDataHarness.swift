import Evaluation
import Foundation

/// Zero-shot task data: the first byte picks the task, the rest is its file (PIQA: the JSON
/// lines, then the labels file after `separator`). Accepted documents get their requests
/// tokenized and the first few scored on the tiny model.
enum TaskDataHarness {
    static let separator = "\u{0}--labels--\u{0}"
    static let limit = 64

    static func run(_ input: Data) {
        guard let first = input.first else { return }
        let task = EvalTask.allCases[Int(first) % EvalTask.allCases.count]
        let body = input.dropFirst()
        let dir = Scratch.directory()
        let files = task.files
        let parts = Data(body).parts(separatedBy: separator)
        for (i, file) in files.enumerated() {
            Scratch.write(i < parts.count ? parts[i] : Data(), file, in: dir)
        }
        let data = DataDirectory(explicit: dir)
        guard let documents = Refusal.attempt("documents", { try task.documents(data: data, limit: limit) }) else { return }
        let tiny = TinyModel.shared
        for doc in documents.prefix(4) {
            precondition(doc.choices.indices.contains(doc.gold), "gold index \(doc.gold) outside the \(doc.choices.count) choices")
            for r in doc.requests.prefix(4) {
                let context = tiny.tokenizer.encode(r.context)
                let continuation = tiny.tokenizer.encode(r.continuation)
                tiny.forward(Array((context.suffix(TinyModel.maxTokens / 2) + continuation.prefix(TinyModel.maxTokens / 2))))
            }
        }
    }
}
