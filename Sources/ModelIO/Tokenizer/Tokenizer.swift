import Foundation

public enum TokenizerError: Error, CustomStringConvertible {
    case fileNotFound(String)
    case malformedJSON(String)
    case unsupportedModel(String)
    case unsupportedComponent(kind: String, type: String)
    case missingMerges(String)
    case malformedMerges(String)
    case mergeTokenNotInVocabulary(String)
    case invalidMetadata(String)

    public var description: String {
        switch self {
        case .fileNotFound(let path): return "tokenizer file not found: \(path)"
        case .malformedJSON(let why): return "malformed tokenizer JSON: \(why)"
        case .unsupportedModel(let type): return "unsupported tokenizer model type: \(type)"
        case .unsupportedComponent(let kind, let type): return "unsupported \(kind): \(type)"
        case .missingMerges(let why): return "BPE tokenizer has no merges: \(why)"
        case .malformedMerges(let why): return "malformed BPE merges: \(why)"
        case .mergeTokenNotInVocabulary(let token): return "BPE merge refers to a token not in the vocabulary: \(token)"
        case .invalidMetadata(let why): return "invalid tokenizer metadata: \(why)"
        }
    }
}

/// A BPE tokenizer that reproduces Hugging Face `tokenizers` token ids exactly: byte-level BPE
/// (GPT-2, SmolLM, Llama-3 family) and SentencePiece-style BPE with byte fallback (Llama-2 family).
///
/// Built from a `tokenizer.json`, from the Hub files `vocab.json` + `merges.txt` (GPT2Tokenizer, e.g.
/// OPT; `Tokenizer.load(directory:)` picks the layout a model directory has), or from GGUF tokenizer
/// metadata (matching what transformers builds with `AutoTokenizer.from_pretrained(..., gguf_file=...)`).
/// Thread-safe.
public final class Tokenizer: @unchecked Sendable {
    let model: BPEModel
    let normalizer: Normalizer?
    let preTokenizer: PreTokenizer?
    let postProcessor: PostProcessor
    let decoder: Decoder?
    let addedTokens: [AddedToken]
    private let rawMatcher: AddedTokenMatcher
    private let normalizedMatcher: AddedTokenMatcher
    private let addedByID: [Int32: AddedToken]

    public let bosTokenID: Int32?
    public let eosTokenID: Int32?
    public let unkTokenID: Int32?
    public let padTokenID: Int32?
    /// Number of ids: the model vocabulary plus added tokens (HF `len(tokenizer)`).
    public let vocabularySize: Int

    init(model: BPEModel, normalizer: Normalizer?, preTokenizer: PreTokenizer?, postProcessor: PostProcessor,
         decoder: Decoder?, addedTokens: [AddedToken], bos: Int32?, eos: Int32?, unk: Int32?, pad: Int32?) {
        self.model = model
        self.normalizer = normalizer
        self.preTokenizer = preTokenizer
        self.postProcessor = postProcessor
        self.decoder = decoder
        self.addedTokens = addedTokens
        var raw: [([UInt32], AddedToken)] = []
        var norm: [([UInt32], AddedToken)] = []
        var byID: [Int32: AddedToken] = [:]
        for t in addedTokens {
            byID[t.id] = t
            if t.normalized {
                let p = normalizer?.apply(scalars(of: t.content)) ?? scalars(of: t.content)
                norm.append((p, t))
            } else {
                raw.append((scalars(of: t.content), t))
            }
        }
        self.rawMatcher = AddedTokenMatcher(raw.map { (pattern: $0.0, token: $0.1) })
        self.normalizedMatcher = AddedTokenMatcher(norm.map { (pattern: $0.0, token: $0.1) })
        self.addedByID = byID
        self.bosTokenID = bos
        self.eosTokenID = eos
        self.unkTokenID = unk
        self.padTokenID = pad
        var size = model.idToToken.count
        for t in addedTokens { size = max(size, Int(t.id) + 1) }
        self.vocabularySize = size
    }

    // MARK: Public API

    /// Token ids with the tokenizer's default special tokens (what HF `tokenizer(text)["input_ids"]` gives).
    public func encode(_ text: String) -> [Int32] {
        encode(text, addSpecialTokens: true)
    }

    /// Token ids; `addSpecialTokens` adds the post-processor's BOS/EOS (never the text's own special tokens).
    public func encode(_ text: String, addSpecialTokens: Bool) -> [Int32] {
        var out: [Int32] = []
        if addSpecialTokens { out.append(contentsOf: postProcessor.prefix) }
        let all = scalars(of: text)
        out.reserveCapacity(all.count / 3 + 8)
        // 1. Added tokens that match the raw text.
        for (r, tok) in rawMatcher.split(all[...]) {
            if let tok = tok { out.append(tok.id); continue }
            // 2. Normalize the remaining text, then look for normalized added tokens.
            let atStart = r.lowerBound == 0
            if let normalizer = normalizer {
                let normalized = normalizer.apply(Array(all[r]))
                for (r2, tok2) in normalizedMatcher.split(normalized[...]) {
                    if let tok2 = tok2 { out.append(tok2.id); continue }
                    encodeText(Piece(s: normalized[r2], atStart: atStart && r2.lowerBound == 0, byteLevel: false), into: &out)
                }
            } else {
                for (r2, tok2) in normalizedMatcher.split(all[r]) {
                    if let tok2 = tok2 { out.append(tok2.id); continue }
                    encodeText(Piece(s: all[r2], atStart: atStart && r2.lowerBound == r.lowerBound, byteLevel: false), into: &out)
                }
            }
        }
        if addSpecialTokens { out.append(contentsOf: postProcessor.suffix) }
        return out
    }

    private func encodeText(_ piece: Piece, into out: inout [Int32]) {
        let pieces = preTokenizer?.apply([piece]) ?? [piece]
        for p in pieces where !p.s.isEmpty {
            if p.byteLevel {
                model.tokenizeByteLevel(p.s, into: &out)
            } else {
                model.tokenize(p.s, into: &out)
            }
        }
    }

    /// Text of the ids, through the tokenizer's decoder (HF `decode` without clean-up).
    public func decode(_ ids: [Int32], skipSpecialTokens: Bool = false) -> String {
        var tokens: [String] = []
        tokens.reserveCapacity(ids.count)
        for id in ids {
            if let t = addedByID[id] {
                if skipSpecialTokens && t.special { continue }
                tokens.append(t.content)
            } else if id >= 0, Int(id) < model.idToToken.count, let s = model.idToToken[Int(id)] {
                tokens.append(s)
            }
        }
        guard let decoder = decoder else { return tokens.joined(separator: " ") }
        return decoder.decodeChain(tokens).joined()
    }

    /// The vocabulary string of an id (byte-level spelling for byte-level vocabularies).
    public func tokenString(_ id: Int32) -> String? {
        if let t = addedByID[id] { return t.content }
        guard id >= 0, Int(id) < model.idToToken.count else { return nil }
        return model.idToToken[Int(id)]
    }

    /// The id of a vocabulary string or added token.
    public func tokenID(_ token: String) -> Int32? {
        if let t = addedTokens.first(where: { $0.content == token }) { return t.id }
        return model.vocab[token]
    }

    /// Whether `id` is a special token (control token / special added token).
    public func isSpecial(_ id: Int32) -> Bool { addedByID[id]?.special ?? false }

    /// Ids `encode(_:)` puts before / after the text.
    public var prefixTokenIDs: [Int32] { postProcessor.prefix }
    public var suffixTokenIDs: [Int32] { postProcessor.suffix }
}
