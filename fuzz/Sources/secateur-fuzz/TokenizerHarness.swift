import Foundation
import ModelIO

/// tokenizer.json (optionally followed by a tokenizer_config.json after `separator`): loaded,
/// then made to encode and decode a few strings, and every id it gives must decode.
enum TokenizerHarness {
    static let separator = "\u{0}--config--\u{0}"
    static let samples = ["Hello, world!", " the  quick\tbrown fox\n\n", "naïve café 日本語 🙂", "1234567 +-*/ <s></s>", ""]

    static func run(_ input: Data) {
        let parts = input.parts(separatedBy: separator)
        guard let tokenizer = Refusal.attempt("Tokenizer(tokenizerJSON:)", { try Tokenizer(tokenizerJSON: parts[0], tokenizerConfig: parts.count > 1 ? parts[1] : nil) }) else { return }
        exercise(tokenizer)
    }

    static func exercise(_ tokenizer: Tokenizer) {
        for s in samples {
            let ids = tokenizer.encode(s)
            _ = tokenizer.decode(ids)
            _ = tokenizer.decode(ids, skipSpecialTokens: true)
            for id in ids.prefix(8) { _ = tokenizer.tokenString(id) }
        }
    }
}
