import Foundation

// Building a tokenizer from GGUF tokenizer metadata, the way transformers does it
// (`AutoTokenizer.from_pretrained(dir, gguf_file=...)`, transformers/integrations/gguf):
//
// * `gpt2` (byte-level BPE): GPT2Tokenizer over the file's tokens and merges. Pre-tokenizer: the
//   GPT-2 ByteLevel regex, unless `tokenizer.ggml.pre` names a known split (llama3/llama-bpe/...:
//   Split(Llama-3 regex) + ByteLevel without regex; likewise qwen2, tekken, gpt-4o, ...). Note that `pre=smollm` is NOT in that table,
//   so a SmolLM GGUF gets the GPT-2 regex (the original SmolLM tokenizer.json splits digits
//   individually instead). No BOS unless `add_bos_token` is true.
// * `llama` (SentencePiece BPE): LlamaTokenizer: Metaspace("▁", prepend_scheme "first", no split),
//   BPE with byte fallback, merges from the file or, when absent, derived from the token scores
//   (transformers' `generate_merges`). BOS added unless `add_bos_token` is false.
//   `add_space_prefix` is ignored, as transformers ignores it.
// * Tokens of type CONTROL (3) become special added tokens (in a byte-level vocabulary only when
//   spelled in the byte alphabet); USER_DEFINED (4) become non-special added tokens.

extension Tokenizer {
    /// GGUF token types (llama.cpp `llama_token_type`).
    public enum GGUFTokenType: Int32 {
        case undefined = 0, normal = 1, unknown = 2, control = 3, userDefined = 4, unused = 5, byte = 6
    }

    /// A tokenizer from GGUF metadata (`tokenizer.ggml.*` keys), behaving like the one transformers
    /// builds from the same file.
    ///
    /// - Parameters:
    ///   - ggufModel: `tokenizer.ggml.model` ("gpt2" or "llama").
    ///   - pre: `tokenizer.ggml.pre`.
    ///   - tokens, tokenTypes, merges, scores: `tokenizer.ggml.tokens/token_type/merges/scores`.
    ///   - bosID, eosID, unkID, padID: `tokenizer.ggml.*_token_id`.
    ///   - addBOS, addEOS: `tokenizer.ggml.add_bos_token/add_eos_token`.
    ///   - addSpacePrefix: `tokenizer.ggml.add_space_prefix` (accepted, ignored like transformers does).
    ///   - architecture: `general.architecture` (selects phi3's SentencePiece variant).
    public convenience init(ggufModel: String, pre: String?, tokens: [String], tokenTypes: [Int32]?,
                            merges: [String]?, scores: [Float]?, bosID: Int?, eosID: Int?, unkID: Int?,
                            padID: Int? = nil, addBOS: Bool?, addEOS: Bool?, addSpacePrefix: Bool? = nil,
                            architecture: String? = nil) throws {
        guard !tokens.isEmpty else { throw TokenizerError.invalidMetadata("tokenizer.ggml.tokens is empty") }
        if let t = tokenTypes, t.count != tokens.count {
            throw TokenizerError.invalidMetadata("token_type has \(t.count) entries for \(tokens.count) tokens")
        }
        if let s = scores, s.count != tokens.count {
            throw TokenizerError.invalidMetadata("scores has \(s.count) entries for \(tokens.count) tokens")
        }
        for (name, id) in [("bos", bosID), ("eos", eosID), ("unk", unkID), ("pad", padID)] {
            if let id = id, id < 0 || id >= tokens.count {
                throw TokenizerError.invalidMetadata("\(name) token id \(id) is outside the vocabulary")
            }
        }

        let byteLevel: Bool
        switch ggufModel {
        case "gpt2": byteLevel = true
        case "llama":
            byteLevel = false
            if let a = architecture, ["gemma", "gemma2", "gemma3"].contains(a) {
                throw TokenizerError.unsupportedModel("SentencePiece GGUF of architecture \(a)")
            }
        default:
            throw TokenizerError.unsupportedModel("GGUF tokenizer.ggml.model=\(ggufModel) (supported: gpt2, llama)")
        }

        // Vocabulary as transformers spells it (byte-level: tokens outside the byte alphabet re-spelled).
        var spelledTokens = tokens
        if byteLevel {
            for i in spelledTokens.indices where !ByteLevelAlphabet.isSpelled(spelledTokens[i]) {
                spelledTokens[i] = ByteLevelAlphabet.spell(spelledTokens[i])
            }
        }
        var vocab: [String: Int32] = [:]
        vocab.reserveCapacity(spelledTokens.count)
        for (i, t) in spelledTokens.enumerated() { vocab[t] = Int32(i) }

        var mergePairs: [(String, String)] = []
        if let merges = merges {
            mergePairs.reserveCapacity(merges.count)
            for m in merges {
                let parts = m.split(separator: " ", omittingEmptySubsequences: false)
                guard parts.count == 2 else { throw TokenizerError.invalidMetadata("merge \"\(m)\" is not two tokens") }
                mergePairs.append((String(parts[0]), String(parts[1])))
            }
        } else if byteLevel {
            mergePairs = Tokenizer.generateMerges(tokens: spelledTokens, vocab: vocab, scores: nil)
        } else {
            guard let scores = scores else {
                throw TokenizerError.missingMerges("GGUF has neither tokenizer.ggml.merges nor tokenizer.ggml.scores")
            }
            mergePairs = Tokenizer.generateMerges(tokens: spelledTokens, vocab: vocab, scores: scores)
        }

        let model = try BPEModel(vocab: vocab, merges: mergePairs, unkToken: nil,
                                 fuseUnk: !byteLevel, byteFallback: !byteLevel)

        // Added tokens.
        var added: [AddedToken] = []
        var addedContents = Set<String>()
        func idOf(_ s: String) -> Int32? {
            if let a = added.first(where: { $0.content == s }) { return a.id }
            return vocab[s]
        }
        if let types = tokenTypes {
            for (i, t) in tokens.enumerated() where types[i] == GGUFTokenType.control.rawValue {
                if byteLevel && !ByteLevelAlphabet.isSpelled(t) { continue }
                if addedContents.contains(t) { continue }
                addedContents.insert(t)
                added.append(AddedToken(content: t, id: vocab[t] ?? Int32(i), special: true, normalized: false))
            }
        }
        // transformers also registers its named special tokens (bos/eos/unk/pad) as special added tokens.
        for id in [bosID, eosID, unkID, padID].compactMap({ $0 }) {
            let t = tokens[id]
            if addedContents.contains(t) { continue }
            addedContents.insert(t)
            added.append(AddedToken(content: t, id: vocab[t] ?? Int32(id), special: true, normalized: false))
        }
        if let types = tokenTypes {
            for (i, t) in tokens.enumerated() where types[i] == GGUFTokenType.userDefined.rawValue {
                guard vocab[t] != nil, !addedContents.contains(t) else { continue }
                addedContents.insert(t)
                added.append(AddedToken(content: t, id: vocab[t]!, special: false, normalized: false))
            }
        }

        let bos = bosID.flatMap { idOf(tokens[$0]) }
        let eos = eosID.flatMap { idOf(tokens[$0]) }
        let unk = unkID.flatMap { idOf(tokens[$0]) }
        let pad = padID.flatMap { idOf(tokens[$0]) }
        let wantBOS = addBOS ?? !byteLevel
        let wantEOS = addEOS ?? false
        var post = PostProcessor()
        if wantBOS, let b = bos { post.prefix = [b] }
        if wantEOS, let e = eos { post.suffix = [e] }

        let normalizer: Normalizer?
        let preTokenizer: PreTokenizer?
        let decoder: Decoder
        if byteLevel {
            normalizer = nil
            if let p = pre, Tokenizer.ggufLlama3Splits.contains(p) {
                preTokenizer = .sequence([.split(.llama3, .isolated, invert: false),
                                          .byteLevel(addPrefixSpace: false, useRegex: false)])
            } else if let p = pre, let source = Tokenizer.ggufOtherSplits[p] {
                preTokenizer = .sequence([.split(try SplitPattern.fromRegex(source), .isolated, invert: false),
                                          .byteLevel(addPrefixSpace: false, useRegex: false)])
            } else {
                preTokenizer = .byteLevel(addPrefixSpace: false, useRegex: true)
            }
            decoder = .byteLevel
        } else {
            if architecture == "phi3" {
                normalizer = .sequence([.prepend([0x2581]), .replace(.literal([0x20]), [0x2581])])
                preTokenizer = nil
            } else {
                normalizer = nil
                preTokenizer = .metaspace(replacement: 0x2581, scheme: .first, split: false)
            }
            decoder = .sequence([.replace("\u{2581}", " "), .byteFallback, .fuse, .strip(content: " ", start: 1, stop: 0)])
        }
        self.init(model: model, normalizer: normalizer, preTokenizer: preTokenizer, postProcessor: post,
                  decoder: decoder, addedTokens: added, bos: bos, eos: eos, unk: unk, pad: pad)
    }

    /// `tokenizer.ggml.pre` values transformers maps to the Llama-3 split regex.
    static let ggufLlama3Splits: Set<String> = [
        "llama3", "llama-v3", "llama-bpe", "falcon3", "falcon-h1", "pixtral", "midm-2.0", "lfm2",
        "jina-v5-nano", "dbrx", "smaug-bpe",
    ]
    /// `tokenizer.ggml.pre` values transformers maps to other split regexes. Qwen2's is hand-written;
    /// the others run on NSRegularExpression (close to Oniguruma, not verified identical).
    static let ggufOtherSplits: [String: String] = [
        "qwen2": SplitPattern.qwen2Source, "deepseek-r1-qwen": SplitPattern.qwen2Source,
        "kormo": SplitPattern.qwen2Source, "f2llmv2": SplitPattern.qwen2Source, "megrez": SplitPattern.qwen2Source,
        "tekken": SplitPattern.tekkenSource, "qwen35": SplitPattern.qwen35Source,
        "gpt-4o": SplitPattern.gpt4oSource, "llama4": SplitPattern.gpt4oSource, "kanana2": SplitPattern.gpt4oSource,
        "talkie": SplitPattern.gpt4oSource, "minimax-m2": SplitPattern.gpt4oSource,
    ]

    /// transformers' `generate_merges`: every split of a token into two vocabulary tokens is a merge;
    /// ordered by score (descending) when scores are given, else by the merged token's id
    /// (ascending); ties by longer left piece, then longer right piece, then insertion order.
    static func generateMerges(tokens: [String], vocab: [String: Int32], scores: [Float]?) -> [(String, String)] {
        // Dict semantics of Python: first-occurrence order, last value.
        var order: [String] = []
        var keyScore: [String: Double] = [:]
        for (i, t) in tokens.enumerated() {
            if keyScore[t] == nil { order.append(t) }
            keyScore[t] = scores.map { Double($0[i]) } ?? Double(vocab[t]!)
        }
        struct M { let l: String; let r: String; let score: Double; let ll: Int; let rl: Int; let seq: Int }
        var all: [M] = []
        for t in order {
            let sc = Array(t.unicodeScalars)
            if sc.count < 2 { continue }
            var local: [(String, String, Int32, Int32, Int)] = []
            for k in 1..<sc.count {
                let l = String(String.UnicodeScalarView(sc[..<k]))
                let r = String(String.UnicodeScalarView(sc[k...]))
                if let il = vocab[l], let ir = vocab[r] { local.append((l, r, il, ir, k)) }
            }
            local.sort { ($0.2, $0.3, $0.4) < ($1.2, $1.3, $1.4) }
            for (l, r, _, _, k) in local {
                all.append(M(l: l, r: r, score: keyScore[t]!, ll: k, rl: sc.count - k, seq: all.count))
            }
        }
        let descending = scores != nil
        all.sort { a, b in
            if a.score != b.score { return descending ? a.score > b.score : a.score < b.score }
            if a.ll != b.ll { return descending ? a.ll > b.ll : a.ll < b.ll }
            if a.rl != b.rl { return descending ? a.rl > b.rl : a.rl < b.rl }
            return a.seq < b.seq
        }
        return all.map { ($0.l, $0.r) }
    }
}
