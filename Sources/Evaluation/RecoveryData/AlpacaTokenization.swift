import LLM
import ModelIO

/// LLM-Pruner's `post_training.py` turning one Alpaca record into a training example
/// (`generate_and_tokenize_prompt` with its `tokenize`), with our tokenizer standing in for
/// Hugging Face's:
///
/// 1. The full prompt (template + instruction + input + output) is tokenized as
///    `tokenizer(prompt, truncation=True, max_length=cutoff)`: the tokenizer's own special
///    tokens (BOS for Llama-family tokenizers, none for GPT-2-style ones) around the text, the
///    text cut from the right so that the whole fits in `cutoff` tokens.
/// 2. EOS is appended when the last token is not EOS and there are fewer than `cutoff` tokens
///    (`add_eos_token=True` for the full prompt); labels = tokens.
/// 3. Unless `trainOnInputs`, the user prompt (the template without the output) is tokenized the
///    same way with `add_eos_token = addEOSToken`; its length, minus 1 when `addEOSToken`, is
///    the number of leading labels set to −100. (The reference subtracts 1 even when the user
///    prompt was cut at `cutoff` and got no EOS; so does this.)
///
/// Where the user prompt would have more tokens than the full prompt (possible only when the
/// output's first characters merge with the prompt's last token), the mask stops at the end of
/// the example; the reference would make labels longer than the tokens.
/// A tokenizer without an EOS token gets none appended.
public struct AlpacaTokenization: Sendable, Equatable {
    /// LLM-Pruner's `cutoff_len`.
    public var cutoff: Int
    /// `--train_on_inputs`: false masks the prompt's labels.
    public var trainOnInputs: Bool
    /// `--add_eos_token`: how the user prompt is measured for the mask.
    public var addEOSToken: Bool

    public init(cutoff: Int, trainOnInputs: Bool = false, addEOSToken: Bool = false) {
        self.cutoff = cutoff; self.trainOnInputs = trainOnInputs; self.addEOSToken = addEOSToken
    }

    /// `tokenize(prompt, add_eos_token)` of post_training.py: input ids (labels are a copy).
    public func tokenize(_ prompt: String, addEOS: Bool, tokenizer: Tokenizer) -> [Int32] {
        tokenizeNotingTruncation(prompt, addEOS: addEOS, tokenizer: tokenizer).ids
    }

    func tokenizeNotingTruncation(_ prompt: String, addEOS: Bool, tokenizer: Tokenizer) -> (ids: [Int32], truncated: Bool) {
        let prefix = tokenizer.prefixTokenIDs, suffix = tokenizer.suffixTokenIDs
        var body = tokenizer.encode(prompt, addSpecialTokens: false)
        let room = max(cutoff - prefix.count - suffix.count, 0)
        let truncated = body.count > room
        if truncated { body.removeLast(body.count - room) }
        var ids = prefix + body + suffix
        if addEOS, let eos = tokenizer.eosTokenID, ids.last != eos, ids.count < cutoff {
            ids.append(eos)
        }
        return (ids, truncated)
    }

    /// The number of leading labels masked: 0 when training on inputs.
    public func maskedPrefixLength(_ record: AlpacaRecord, tokenizer: Tokenizer) -> Int {
        if trainOnInputs { return 0 }
        var n = tokenize(record.userPrompt, addEOS: addEOSToken, tokenizer: tokenizer).count
        if addEOSToken { n -= 1 }
        return n
    }

    /// `generate_and_tokenize_prompt(data_point)`.
    public func example(_ record: AlpacaRecord, tokenizer: Tokenizer) -> TrainingExample {
        exampleNotingTruncation(record, tokenizer: tokenizer).example
    }

    /// The example, and whether its full prompt was cut at `cutoff`.
    func exampleNotingTruncation(_ record: AlpacaRecord, tokenizer: Tokenizer) -> (example: TrainingExample, truncated: Bool) {
        let (tokens, truncated) = tokenizeNotingTruncation(record.fullPrompt, addEOS: true, tokenizer: tokenizer)
        var labels = tokens
        let masked = max(0, min(maskedPrefixLength(record, tokenizer: tokenizer), labels.count))
        for i in 0..<masked { labels[i] = TrainingExample.ignored }
        return (TrainingExample(tokens: tokens, labels: labels), truncated)
    }
}
