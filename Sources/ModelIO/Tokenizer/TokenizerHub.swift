import Foundation

// A Hugging Face model directory's tokenizer: `tokenizer.json` (the `tokenizers` serialization) or,
// without one, the older Hub layout `vocab.json` + `merges.txt` (+ `tokenizer_config.json`,
// `special_tokens_map.json`, `added_tokens.json`) that facebook/opt-* and openai-community/gpt2 ship.
//
// The second layout is read the way transformers 5 builds GPT2Tokenizer from it:
// * BPE over vocab.json and merges.txt (tokenizers' `BPE.read_file`: lines starting with "#version"
//   are skipped, every other line must be exactly two tokens separated by one space), no unk token,
//   no fuse_unk; ByteLevel pre-tokenizer with GPT-2's regex (`add_prefix_space` from the config,
//   default false); ByteLevel decoder; no normalizer.
// * Special tokens: bos/eos/unk/sep/pad/cls/mask (strings or AddedToken dicts; bos/eos/unk default to
//   "<|endoftext|>" when the key is absent, null means none), other `*_token` keys and
//   `extra_special_tokens`/`additional_special_tokens`, registered as special added tokens after the
//   entries of `added_tokens_decoder`. Without `added_tokens_decoder`, `special_tokens_map.json`
//   overrides the config's named tokens and `added_tokens.json` lists further added tokens
//   (transformers' legacy path). An added token keeps its vocabulary id; one not in the vocabulary
//   gets the next id (tokenizers' rule: the vocabulary size, or one past the largest added id).
// * `add_bos_token` / `add_eos_token` (default false) put the BOS / EOS id around every encoding.
//
// Unlike transformers, a missing merges.txt is an error (transformers 5 would derive merges from the
// vocabulary), and ids are checked: every vocabulary id must be an integer in 0..<2^24, and an
// `added_tokens_decoder` / `added_tokens.json` id must be the id the token actually gets.

extension Tokenizer {
    /// Files `load(directory:)` may read (a directory writer copies these to keep the tokenizer).
    public static let directoryFileNames = [
        "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "added_tokens.json",
        "vocab.json", "merges.txt",
    ]

    /// `config.json` model types whose Hub vocab.json + merges.txt transformers reads as GPT2Tokenizer.
    static let gpt2ModelTypes: Set<String> = [
        "blip-2", "codegen", "dbrx", "emu3", "gpt2", "gpt_neo", "gptj", "hyperclovax_vision_v2", "instructblip",
        "instructblipvideo", "jais2", "opt", "phi", "starcoder2",
    ]

    /// The tokenizer of a Hugging Face model directory, as `AutoTokenizer.from_pretrained(directory)`
    /// builds it: from `tokenizer.json` (+ `tokenizer_config.json`) when present, else from
    /// `vocab.json` + `merges.txt` (+ `tokenizer_config.json`, `special_tokens_map.json`,
    /// `added_tokens.json`) with GPT2Tokenizer semantics (OPT, GPT-2, GPT-Neo, Phi-1/2, ...).
    ///
    /// Returns nil when the directory has neither `tokenizer.json` nor `vocab.json`/`merges.txt`
    /// (a directory Secateur wrote from a GGUF keeps `tokenizer.gguf` instead; that is the caller's).
    /// Throws `TokenizerError.missingMerges` for a vocab.json without merges.txt, and
    /// `unsupportedModel` when `tokenizer_config.json`'s `tokenizer_class` (or, without one,
    /// `config.json`'s `model_type`) names a tokenizer other than GPT2Tokenizer.
    public static func load(directory: URL) throws -> Tokenizer? {
        let fm = FileManager.default
        func file(_ name: String) -> URL? {
            let u = directory.appendingPathComponent(name)
            return fm.fileExists(atPath: u.path) ? u : nil
        }
        let config = file("tokenizer_config.json")
        if let json = file("tokenizer.json") {
            return try Tokenizer(tokenizerJSON: json, tokenizerConfig: config)
        }
        let vocab = file("vocab.json"), merges = file("merges.txt")
        if vocab == nil && merges == nil { return nil }
        guard let vocab = vocab else {
            throw TokenizerError.fileNotFound(directory.appendingPathComponent("vocab.json").path + " (beside merges.txt)")
        }
        guard let merges = merges else {
            throw TokenizerError.missingMerges("\(directory.appendingPathComponent("merges.txt").path) not found (beside vocab.json)")
        }
        // Without a tokenizer_class, AutoTokenizer picks the class from config.json's model_type.
        let hasClass = try config.map { try readJSONObject($0)["tokenizer_class"] is String } ?? false
        if !hasClass, let cfg = file("config.json"),
           let obj = try? JSONSerialization.jsonObject(with: Data(contentsOf: cfg)) as? [String: Any],
           let modelType = obj["model_type"] as? String, !gpt2ModelTypes.contains(modelType) {
            throw TokenizerError.unsupportedModel(
                "\(cfg.path): model_type \(modelType) with vocab.json + merges.txt (only GPT2Tokenizer models are supported)")
        }
        return try Tokenizer(vocabJSON: vocab, merges: merges, tokenizerConfig: config,
                             specialTokensMap: file("special_tokens_map.json"), addedTokens: file("added_tokens.json"))
    }

    /// A GPT2Tokenizer from the Hub files `vocab.json` and `merges.txt`, with the special tokens and
    /// `add_bos_token` / `add_eos_token` / `add_prefix_space` of `tokenizer_config.json`
    /// (`special_tokens_map.json` and `added_tokens.json`: transformers' legacy files, read only when
    /// the config has no `added_tokens_decoder`). Identical ids to transformers 5's
    /// `GPT2Tokenizer.from_pretrained` (what `AutoTokenizer` gives for OPT).
    public convenience init(vocabJSON vocabURL: URL, merges mergesURL: URL, tokenizerConfig configURL: URL? = nil,
                            specialTokensMap mapURL: URL? = nil, addedTokens addedURL: URL? = nil) throws {
        let vocab = try readVocabJSON(vocabURL)
        let (merges, mergeLines) = try readMergesTXT(mergesURL)
        let config = try configURL.map(readJSONObject) ?? [:]
        let configPath = configURL?.path ?? "tokenizer_config.json"
        if let cls = config["tokenizer_class"] {
            guard let c = cls as? String, ["GPT2Tokenizer", "GPT2TokenizerFast"].contains(c) else {
                throw TokenizerError.unsupportedModel(
                    "\(configPath): tokenizer_class \(shortJSON(cls)) with vocab.json + merges.txt (only GPT2Tokenizer is supported)")
            }
        }
        func flag(_ key: String) throws -> Bool {
            guard let v = config[key], !(v is NSNull) else { return false }
            guard let b = v as? NSNumber, String(cString: b.objCType) == "c" else {
                throw TokenizerError.malformedJSON("\(configPath): \(key) is \(shortJSON(v)), not true or false")
            }
            return b.boolValue
        }
        let addBOS = try flag("add_bos_token"), addEOS = try flag("add_eos_token")
        let addPrefixSpace = try flag("add_prefix_space")

        let model: BPEModel
        do {
            model = try BPEModel(vocab: vocab, merges: merges, unkToken: nil, fuseUnk: false, byteFallback: false)
        } catch TokenizerError.mergeTokenNotInVocabulary(let token) {
            // Name the file and the first line that needs the token.
            var line = 0
            for (i, (a, b)) in merges.enumerated() where [a, b, a + b].contains(token) {
                if vocab[a] == nil || vocab[b] == nil || vocab[a + b] == nil { line = mergeLines[i]; break }
            }
            throw TokenizerError.mergeTokenNotInVocabulary("\(token.debugDescription) (\(mergesURL.path) line \(line))")
        }

        // Special and added tokens, in the order transformers registers them.
        var mapFile: [String: Any] = [:]
        var addedFile: [String: Any] = [:]
        var decoderEntries: [(id: Int32, token: AddedToken)] = []
        var named: [(key: String, token: AddedToken?)] = []
        let standardKeys = ["bos_token", "eos_token", "unk_token", "sep_token", "pad_token", "cls_token", "mask_token"]
        let gpt2Defaults = ["bos_token": "<|endoftext|>", "eos_token": "<|endoftext|>", "unk_token": "<|endoftext|>"]
        let legacy = config["added_tokens_decoder"] == nil
        if let d = config["added_tokens_decoder"] {
            guard let entries = d as? [String: Any] else {
                throw TokenizerError.malformedJSON("\(configPath): added_tokens_decoder is not an object")
            }
            for (key, value) in entries {
                guard let id = Int32(key), id >= 0, Int(id) < maxTokenID else {
                    throw TokenizerError.malformedJSON("\(configPath): added_tokens_decoder key \(key.debugDescription) is not an id in 0..<\(maxTokenID)")
                }
                guard let t = try configToken(value, path: configPath, key: "added_tokens_decoder[\(key)]", mapFile: false) else {
                    throw TokenizerError.malformedJSON("\(configPath): added_tokens_decoder[\(key)] is null")
                }
                decoderEntries.append((id, t))
            }
            decoderEntries.sort { $0.id < $1.id }
        } else {
            if let u = mapURL { mapFile = try readJSONObject(u) }
            if let u = addedURL { addedFile = try readJSONObject(u) }
        }
        var keys = standardKeys
        for k in (Array(config.keys) + Array(mapFile.keys)).sorted() where k.hasSuffix("_token") && !keys.contains(k) {
            keys.append(k)
        }
        for key in keys {
            if legacy, let v = mapFile[key] {
                named.append((key, try configToken(v, path: mapURL!.path, key: key, mapFile: true)))
            } else if let v = config[key] {
                // Non-token values (add_bos_token's Bool, ...) are not special tokens.
                if key.hasSuffix("_token") && !standardKeys.contains(key) && !(v is String) && !(v is [String: Any]) { continue }
                named.append((key, try configToken(v, path: configPath, key: key, mapFile: false)))
            } else if let d = gpt2Defaults[key] {
                named.append((key, AddedToken(content: d, id: -1, special: true, normalized: false)))
            }
        }
        var extras: [AddedToken] = []
        for (source, path, isMap) in [(mapFile, mapURL?.path ?? "", true), (config, configPath, false)] {
            for key in ["extra_special_tokens", "additional_special_tokens"] {
                guard let v = source[key], !(v is NSNull) else { continue }
                if let list = v as? [Any] {
                    for (i, item) in list.enumerated() {
                        if let t = try configToken(item, path: path, key: "\(key)[\(i)]", mapFile: isMap) {
                            extras.append(AddedToken(content: t.content, id: -1, special: true, normalized: t.normalized,
                                                     lstrip: t.lstrip, rstrip: t.rstrip, singleWord: t.singleWord))
                        }
                    }
                } else if let dict = v as? [String: Any] {
                    for k in dict.keys.sorted() {
                        if let t = try configToken(dict[k]!, path: path, key: "\(key).\(k)", mapFile: false) {
                            named.append((k, t))
                        }
                    }
                } else {
                    throw TokenizerError.malformedJSON("\(path): \(key) is neither a list nor an object")
                }
            }
        }
        let namedContents = Set(named.compactMap { $0.token?.content })
        if legacy {
            for (content, v) in addedFile.sorted(by: { $0.key < $1.key }) {
                guard let id = jsonTokenID(v) else {
                    throw TokenizerError.malformedJSON("\(addedURL!.path): id of \(content.debugDescription) is \(shortJSON(v)), not an integer in 0..<\(maxTokenID)")
                }
                let special = namedContents.contains(content) || extras.contains { $0.content == content }
                decoderEntries.append((id, AddedToken(content: content, id: id, special: special, normalized: !special)))
            }
            decoderEntries.sort { $0.id < $1.id }
        }

        var added: [AddedToken] = []
        var addedIndex: [String: Int] = [:]
        func register(_ t0: AddedToken, declared: Int32?, path: String) throws {
            var t = t0
            if namedContents.contains(t.content) { t.special = true }
            if addedIndex[t.content] != nil || t.content.isEmpty { return }
            let id: Int32
            if let v = vocab[t.content] {
                id = v
            } else {
                let maxAdded = added.map(\.id).max()
                if let m = maxAdded, Int(m) >= vocab.count { id = m + 1 } else { id = Int32(vocab.count) }
            }
            if let d = declared, d != id {
                throw TokenizerError.malformedJSON(
                    "\(path): \(t.content.debugDescription) is declared with id \(d) but gets id \(id) (vocab.json has \(vocab.count) entries)")
            }
            t.id = id
            addedIndex[t.content] = added.count
            added.append(t)
        }
        for e in decoderEntries {
            try register(e.token, declared: e.id, path: legacy ? (addedURL?.path ?? "") : configPath)
        }
        for n in named { if let t = n.token { try register(t, declared: nil, path: configPath) } }
        for t in extras { try register(t, declared: nil, path: configPath) }

        func idOf(_ key: String) -> Int32? {
            guard let entry = named.last(where: { $0.key == key }), let t = entry.token else { return nil }
            if let i = addedIndex[t.content] { return added[i].id }
            return vocab[t.content]  // only the empty string is never registered
        }
        let bos = idOf("bos_token"), eos = idOf("eos_token")
        var post = PostProcessor()
        if addBOS, let b = bos { post.prefix = [b] }
        if addEOS, let e = eos { post.suffix = [e] }
        self.init(model: model, normalizer: nil, preTokenizer: .byteLevel(addPrefixSpace: addPrefixSpace, useRegex: true),
                  postProcessor: post, decoder: .byteLevel, addedTokens: added,
                  bos: bos, eos: eos, unk: idOf("unk_token"), pad: idOf("pad_token"))
    }
}

/// Largest token id (exclusive) accepted from a file.
let maxTokenID = 1 << 24

/// A JSON integer in 0..<maxTokenID (not a bool, not a number with a fraction or exponent).
func jsonTokenID(_ v: Any?) -> Int32? {
    guard let n = v as? NSNumber else { return nil }
    let type = String(cString: n.objCType)
    guard type != "c", type != "d", type != "f" else { return nil }
    if type == "Q" || type == "L" { return n.uint64Value < UInt64(maxTokenID) ? Int32(n.uint64Value) : nil }
    let x = n.int64Value
    return x >= 0 && x < Int64(maxTokenID) ? Int32(x) : nil
}

/// A JSON value for a one-line message: strings quoted and escaped, long values cut.
func shortJSON(_ v: Any) -> String {
    if let s = v as? String { return s.count > 60 ? String(s.prefix(60)).debugDescription + "..." : s.debugDescription }
    if v is NSNull { return "null" }
    let d = String(describing: v).replacingOccurrences(of: "\n", with: " ")
    return d.count > 60 ? String(d.prefix(60)) + "..." : d
}

/// One-line reason of a JSONSerialization failure.
func jsonFailure(_ error: Error) -> String {
    let ns = error as NSError
    let why = (ns.userInfo[NSDebugDescriptionErrorKey] as? String) ?? ns.localizedDescription
    return why.replacingOccurrences(of: "\n", with: " ")
}

func readFile(_ url: URL) throws -> Data {
    guard FileManager.default.fileExists(atPath: url.path) else { throw TokenizerError.fileNotFound(url.path) }
    do { return try Data(contentsOf: url) } catch {
        throw TokenizerError.fileNotFound("\(url.path): \(error.localizedDescription)")
    }
}

/// A JSON file whose top level is an object.
func readJSONObject(_ url: URL) throws -> [String: Any] {
    let data = try readFile(url)
    let obj: Any
    do { obj = try JSONSerialization.jsonObject(with: escapingByteOrderMarks(data)) } catch {
        throw TokenizerError.malformedJSON("\(url.path): \(jsonFailure(error))")
    }
    guard let d = obj as? [String: Any] else { throw TokenizerError.malformedJSON("\(url.path): top level is not an object") }
    return d
}

/// vocab.json: an object of token → id.
func readVocabJSON(_ url: URL) throws -> [String: Int32] {
    let obj = try readJSONObject(url)
    var vocab: [String: Int32] = [:]
    vocab.reserveCapacity(obj.count)
    for (token, v) in obj {
        guard let id = jsonTokenID(v) else {
            throw TokenizerError.malformedJSON("\(url.path): id of \(token.debugDescription) is \(shortJSON(v)), not an integer in 0..<\(maxTokenID)")
        }
        vocab[token] = id
    }
    return vocab
}

/// merges.txt as tokenizers' `BPE.read_file` reads it: lines split on "\n" (a trailing "\r" dropped),
/// lines starting with "#version" skipped, every other line exactly "left right". Also returns each
/// merge's 1-based line number.
func readMergesTXT(_ url: URL) throws -> ([(String, String)], [Int]) {
    let data = try readFile(url)
    var merges: [(String, String)] = []
    var lines: [Int] = []
    let version = Array("#version".utf8)
    try data.withUnsafeBytes { (raw: UnsafeRawBufferPointer) in
        let bytes = raw.bindMemory(to: UInt8.self)
        var start = 0
        var lineNo = 0
        let n = bytes.count
        while start < n {
            var end = start
            while end < n && bytes[end] != 0x0A { end += 1 }
            lineNo += 1
            var stop = end
            if stop > start && bytes[stop - 1] == 0x0D { stop -= 1 }
            let line = UnsafeBufferPointer(rebasing: bytes[start..<stop])
            start = end + 1
            if line.starts(with: version) { continue }
            guard let text = String(validating: line, as: UTF8.self) else {
                throw TokenizerError.malformedMerges("\(url.path) line \(lineNo): not UTF-8")
            }
            let parts = text.split(separator: " ", omittingEmptySubsequences: false)
            guard parts.count == 2 else {
                let shown = text.count > 80 ? String(text.prefix(80)) + "..." : text
                throw TokenizerError.malformedMerges(
                    "\(url.path) line \(lineNo): \(shown.debugDescription) is not two tokens separated by one space")
            }
            merges.append((String(parts[0]), String(parts[1])))
            lines.append(lineNo)
        }
    }
    return (merges, lines)
}

/// A special or added token as transformers' config files spell it: a string (special, not
/// normalized) or an AddedToken dict (`normalized` defaults to `!special`; in special_tokens_map.json
/// every token is special). Nil for JSON null.
func configToken(_ v: Any, path: String, key: String, mapFile: Bool) throws -> AddedToken? {
    if v is NSNull { return nil }
    if let s = v as? String { return AddedToken(content: s, id: -1, special: true, normalized: false) }
    guard let d = v as? [String: Any], let content = d["content"] as? String else {
        throw TokenizerError.malformedJSON("\(path): \(key) is neither a string nor a token object with a \"content\" string")
    }
    func bool(_ k: String) throws -> Bool? {
        guard let x = d[k], !(x is NSNull) else { return nil }
        guard let b = x as? NSNumber, String(cString: b.objCType) == "c" else {
            throw TokenizerError.malformedJSON("\(path): \(key).\(k) is \(shortJSON(x)), not true or false")
        }
        return b.boolValue
    }
    let special = mapFile ? true : (try bool("special") ?? false)
    return AddedToken(content: content, id: -1, special: special, normalized: try bool("normalized") ?? !special,
                      lstrip: try bool("lstrip") ?? false, rstrip: try bool("rstrip") ?? false,
                      singleWord: try bool("single_word") ?? false)
}
