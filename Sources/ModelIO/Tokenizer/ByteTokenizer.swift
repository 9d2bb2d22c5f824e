import Foundation

extension Tokenizer {
    /// tokenizer.json of a byte-level BPE without merges: every UTF-8 byte is one token, id =
    /// the byte (0–255, spelled in GPT-2's byte alphabet), GPT-2's split pattern, no special
    /// tokens. Any text tokenizes to ids that every vocabulary of 256 or more has — what a
    /// random checkpoint of a published shape needs to be calibrated and evaluated on real text
    /// when that model's own tokenizer is not reachable.
    public static func byteLevelJSON() throws -> Data {
        var vocab: [String: Int] = [:]
        for b in 0..<256 { vocab[String(Character(Unicode.Scalar(ByteLevelAlphabet.byteToScalar[b])!))] = b }
        let object: [String: Any] = [
            "version": "1.0",
            "truncation": NSNull(), "padding": NSNull(), "added_tokens": [], "normalizer": NSNull(),
            "pre_tokenizer": ["type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": true],
            "post_processor": NSNull(),
            "decoder": ["type": "ByteLevel", "add_prefix_space": true, "trim_offsets": true, "use_regex": true],
            "model": ["type": "BPE", "dropout": NSNull(), "unk_token": NSNull(), "continuing_subword_prefix": NSNull(),
                      "end_of_word_suffix": NSNull(), "fuse_unk": false, "byte_fallback": false, "ignore_merges": false,
                      "vocab": vocab, "merges": [String]()],
        ]
        return try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
    }
}
