import Foundation

// Loading a Hugging Face `tokenizer.json` (the serialization of HF `tokenizers`).

extension Tokenizer {
    /// Loads a `tokenizer.json`; `tokenizerConfig` (a `tokenizer_config.json`, optional) names
    /// the BOS/EOS/UNK/PAD tokens when the tokenizer.json alone does not.
    public convenience init(tokenizerJSON url: URL, tokenizerConfig configURL: URL? = nil) throws {
        guard FileManager.default.fileExists(atPath: url.path) else { throw TokenizerError.fileNotFound(url.path) }
        let data: Data
        do { data = try Data(contentsOf: url) } catch { throw TokenizerError.fileNotFound("\(url.path): \(error)") }
        var config: Data? = nil
        if let configURL = configURL {
            guard FileManager.default.fileExists(atPath: configURL.path) else {
                throw TokenizerError.fileNotFound(configURL.path)
            }
            config = try? Data(contentsOf: configURL)
        }
        do {
            try self.init(tokenizerJSON: data, tokenizerConfig: config)
        } catch TokenizerError.malformedJSON(let why) {
            throw TokenizerError.malformedJSON("\(url.path): \(why)")
        }
    }

    public convenience init(tokenizerJSON data: Data, tokenizerConfig: Data? = nil) throws {
        let root: [String: Any]
        do {
            guard let obj = try JSONSerialization.jsonObject(with: escapingByteOrderMarks(data)) as? [String: Any] else {
                throw TokenizerError.malformedJSON("top level is not an object")
            }
            root = obj
        } catch let e as TokenizerError {
            throw e
        } catch {
            // One line: JSONSerialization's reason, not the NSError dump.
            let ns = error as NSError
            let why = (ns.userInfo[NSDebugDescriptionErrorKey] as? String) ?? ns.localizedDescription
            throw TokenizerError.malformedJSON(why.replacingOccurrences(of: "\n", with: " "))
        }
        guard let modelObj = root["model"] as? [String: Any] else { throw TokenizerError.malformedJSON("no \"model\"") }
        let modelType = modelObj["type"] as? String ?? (modelObj["merges"] != nil ? "BPE" : "?")
        guard modelType == "BPE" else { throw TokenizerError.unsupportedModel(modelType) }
        guard let vocabObj = modelObj["vocab"] as? [String: Any] else {
            throw TokenizerError.malformedJSON("model.vocab is not an object")
        }
        var vocab: [String: Int32] = [:]
        vocab.reserveCapacity(vocabObj.count)
        for (k, v) in vocabObj {
            guard let id = jsonTokenID(v) else {
                throw TokenizerError.malformedJSON("vocab id of \(k.debugDescription) is \(shortJSON(v)), not an integer in 0..<\(maxTokenID)")
            }
            vocab[k] = id
        }
        guard let mergesObj = modelObj["merges"] as? [Any] else {
            throw TokenizerError.missingMerges("model.merges is absent")
        }
        var merges: [(String, String)] = []
        merges.reserveCapacity(mergesObj.count)
        for m in mergesObj {
            if let s = m as? String {
                let parts = s.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: false)
                guard parts.count == 2 else { throw TokenizerError.malformedJSON("merge \"\(s)\" is not two tokens") }
                merges.append((String(parts[0]), String(parts[1])))
            } else if let a = m as? [String], a.count == 2 {
                merges.append((a[0], a[1]))
            } else {
                throw TokenizerError.malformedJSON("merge \(m) is neither \"a b\" nor [a, b]")
            }
        }
        if merges.isEmpty && vocab.count > 256 {
            throw TokenizerError.missingMerges("model.merges is empty")
        }
        let model = try BPEModel(
            vocab: vocab, merges: merges,
            unkToken: modelObj["unk_token"] as? String,
            fuseUnk: modelObj["fuse_unk"] as? Bool ?? false,
            byteFallback: modelObj["byte_fallback"] as? Bool ?? false,
            ignoreMerges: modelObj["ignore_merges"] as? Bool ?? false,
            continuingSubwordPrefix: modelObj["continuing_subword_prefix"] as? String,
            endOfWordSuffix: modelObj["end_of_word_suffix"] as? String)

        var added: [AddedToken] = []
        for a in root["added_tokens"] as? [[String: Any]] ?? [] {
            guard let content = a["content"] as? String, a["id"] != nil else {
                throw TokenizerError.malformedJSON("added token without content/id")
            }
            guard let id = jsonTokenID(a["id"]) else {
                throw TokenizerError.malformedJSON("added token \(content.debugDescription) has id \(shortJSON(a["id"]!)), not an integer in 0..<\(maxTokenID)")
            }
            added.append(AddedToken(content: content, id: id,
                                    special: a["special"] as? Bool ?? false,
                                    normalized: a["normalized"] as? Bool ?? true,
                                    lstrip: a["lstrip"] as? Bool ?? false,
                                    rstrip: a["rstrip"] as? Bool ?? false,
                                    singleWord: a["single_word"] as? Bool ?? false))
        }
        let idOf: (String) -> Int32? = { name in added.first(where: { $0.content == name })?.id ?? vocab[name] }

        let normalizer = try JSONComponents.normalizer(root["normalizer"])
        let pre = try JSONComponents.preTokenizer(root["pre_tokenizer"])
        let post = try JSONComponents.postProcessor(root["post_processor"], idOf: idOf)
        let dec = try JSONComponents.decoder(root["decoder"])
        for id in post.prefix + post.suffix where model.idToToken.count <= Int(id) || model.idToToken[Int(id)] == nil {
            guard added.contains(where: { $0.id == id }) else {
                throw TokenizerError.malformedJSON("post_processor adds id \(id), which is neither a vocabulary id nor an added token")
            }
        }

        // Special token names: tokenizer_config.json, else the post-processor, else common names.
        var names: [String: String] = [:]
        if let c = tokenizerConfig, let obj = try? JSONSerialization.jsonObject(with: c) as? [String: Any] {
            for key in ["bos_token", "eos_token", "unk_token", "pad_token"] {
                if let s = obj[key] as? String { names[key] = s }
                else if let d = obj[key] as? [String: Any], let s = d["content"] as? String { names[key] = s }
            }
        }
        func pick(_ key: String, _ fallback: [String]) -> Int32? {
            if let n = names[key] { return idOf(n) }
            for f in fallback { if let id = idOf(f) { return id } }
            return nil
        }
        let bos = names["bos_token"] != nil ? pick("bos_token", [])
            : (post.prefix.first ?? pick("bos_token", ["<s>", "<|begin_of_text|>", "<bos>", "<|startoftext|>"]))
        let eos = names["eos_token"] != nil ? pick("eos_token", [])
            : (post.suffix.last ?? pick("eos_token", ["</s>", "<|end_of_text|>", "<eos>", "<|endoftext|>"]))
        let unk = names["unk_token"] != nil ? pick("unk_token", []) : model.unkID ?? pick("unk_token", ["<unk>"])
        let pad = pick("pad_token", [])
        self.init(model: model, normalizer: normalizer, preTokenizer: pre, postProcessor: post, decoder: dec,
                  addedTokens: added, bos: bos, eos: eos, unk: unk, pad: pad)
    }
}

/// Foundation's JSONSerialization on Linux drops a literal U+FEFF inside strings; in JSON it can
/// only occur inside strings (after a leading BOM), so spell it as the escape `\ufeff`.
func escapingByteOrderMarks(_ data: Data) -> Data {
    let bom: [UInt8] = [0xEF, 0xBB, 0xBF]
    var bytes = [UInt8](data)
    if bytes.starts(with: bom) { bytes.removeFirst(3) }
    guard bytes.count >= 3 else { return Data(bytes) }
    var found = false
    for i in 0..<(bytes.count - 2) where bytes[i] == 0xEF && bytes[i + 1] == 0xBB && bytes[i + 2] == 0xBF {
        found = true
        break
    }
    if !found { return Data(bytes) }
    var out: [UInt8] = []
    out.reserveCapacity(bytes.count + 64)
    var i = 0
    while i < bytes.count {
        if i + 2 < bytes.count && bytes[i] == 0xEF && bytes[i + 1] == 0xBB && bytes[i + 2] == 0xBF {
            out.append(contentsOf: Array("\\ufeff".utf8))
            i += 3
        } else {
            out.append(bytes[i])
            i += 1
        }
    }
    return Data(out)
}

enum JSONComponents {
    static func pattern(_ obj: Any?) throws -> SplitPattern {
        guard let d = obj as? [String: Any] else { throw TokenizerError.malformedJSON("pattern is not an object") }
        if let s = d["String"] as? String { return .literal(scalars(of: s)) }
        if let r = d["Regex"] as? String { return try SplitPattern.fromRegex(r) }
        throw TokenizerError.malformedJSON("pattern is neither String nor Regex")
    }

    static func type(_ d: [String: Any]) -> String { d["type"] as? String ?? "?" }

    static func normalizer(_ obj: Any?) throws -> Normalizer? {
        guard let d = obj as? [String: Any] else { return nil }
        switch type(d) {
        case "Sequence":
            return .sequence(try (d["normalizers"] as? [Any] ?? []).compactMap { try normalizer($0) })
        case "Prepend":
            return .prepend(scalars(of: d["prepend"] as? String ?? ""))
        case "Replace":
            return .replace(try pattern(d["pattern"]), scalars(of: d["content"] as? String ?? ""))
        case "NFC": return .nfc
        case "NFD": return .nfd
        case "NFKC": return .nfkc
        case "NFKD": return .nfkd
        case "Lowercase": return .lowercase
        case "Strip":
            return .strip(left: d["strip_left"] as? Bool ?? true, right: d["strip_right"] as? Bool ?? true)
        case let t: throw TokenizerError.unsupportedComponent(kind: "normalizer", type: t)
        }
    }

    static func preTokenizer(_ obj: Any?) throws -> PreTokenizer? {
        guard let d = obj as? [String: Any] else { return nil }
        switch type(d) {
        case "Sequence":
            return .sequence(try (d["pretokenizers"] as? [Any] ?? []).compactMap { try preTokenizer($0) })
        case "ByteLevel":
            return .byteLevel(addPrefixSpace: d["add_prefix_space"] as? Bool ?? true,
                              useRegex: d["use_regex"] as? Bool ?? true)
        case "Split":
            let behaviorName = d["behavior"] as? String ?? "Isolated"
            guard let behavior = SplitBehavior(rawValue: behaviorName) else {
                throw TokenizerError.unsupportedComponent(kind: "Split behavior", type: behaviorName)
            }
            return .split(try pattern(d["pattern"]), behavior, invert: d["invert"] as? Bool ?? false)
        case "Digits":
            return .digits(individual: d["individual_digits"] as? Bool ?? false)
        case "Metaspace":
            let rep = (d["replacement"] as? String ?? "\u{2581}").unicodeScalars.first?.value ?? 0x2581
            var scheme = PrependScheme.always
            if let s = d["prepend_scheme"] as? String, let p = PrependScheme(rawValue: s) {
                scheme = p
            } else if let add = d["add_prefix_space"] as? Bool {
                scheme = add ? .always : .never
            }
            return .metaspace(replacement: rep, scheme: scheme, split: d["split"] as? Bool ?? true)
        case "WhitespaceSplit":
            return .whitespaceSplit
        case let t: throw TokenizerError.unsupportedComponent(kind: "pre-tokenizer", type: t)
        }
    }

    static func postProcessor(_ obj: Any?, idOf: (String) -> Int32?) throws -> PostProcessor {
        guard let d = obj as? [String: Any] else { return PostProcessor() }
        switch type(d) {
        case "Sequence":
            var pp = PostProcessor()
            for p in d["processors"] as? [Any] ?? [] {
                let sub = try postProcessor(p, idOf: idOf)
                pp.prefix += sub.prefix
                pp.suffix = sub.suffix + pp.suffix
            }
            return pp
        case "ByteLevel":
            return PostProcessor()
        case "TemplateProcessing":
            let specials = d["special_tokens"] as? [String: Any] ?? [:]
            var pp = PostProcessor()
            var seenSequence = false
            for item in d["single"] as? [Any] ?? [] {
                guard let it = item as? [String: Any] else { continue }
                if it["Sequence"] != nil { seenSequence = true; continue }
                guard let st = it["SpecialToken"] as? [String: Any], let name = st["id"] as? String else { continue }
                var ids: [Int32] = []
                if let spec = specials[name] as? [String: Any], let list = spec["ids"] as? [Any] {
                    ids = try list.map { v in
                        guard let id = jsonTokenID(v) else {
                            throw TokenizerError.malformedJSON("template special token \(name) has id \(shortJSON(v)), not an integer in 0..<\(maxTokenID)")
                        }
                        return id
                    }
                } else if let id = idOf(name) {
                    ids = [id]
                } else {
                    throw TokenizerError.malformedJSON("template special token \(name) has no id")
                }
                if seenSequence { pp.suffix += ids } else { pp.prefix += ids }
            }
            return pp
        case "RobertaProcessing", "BertProcessing":
            func tokenID(_ key: String) throws -> Int32? {
                guard let pair = d[key] as? [Any], pair.count == 2 else { return nil }
                guard let id = jsonTokenID(pair[1]) else {
                    throw TokenizerError.malformedJSON("\(type(d)) \(key) id \(shortJSON(pair[1])) is not an integer in 0..<\(maxTokenID)")
                }
                return id
            }
            var pp = PostProcessor()
            if let c = try tokenID("cls") { pp.prefix = [c] }
            if let s = try tokenID("sep") { pp.suffix = [s] }
            return pp
        case let t: throw TokenizerError.unsupportedComponent(kind: "post-processor", type: t)
        }
    }

    static func decoder(_ obj: Any?) throws -> Decoder? {
        guard let d = obj as? [String: Any] else { return nil }
        switch type(d) {
        case "Sequence":
            return .sequence(try (d["decoders"] as? [Any] ?? []).compactMap { try decoder($0) })
        case "ByteLevel": return .byteLevel
        case "ByteFallback": return .byteFallback
        case "Fuse": return .fuse
        case "Replace":
            guard let p = d["pattern"] as? [String: Any], let s = p["String"] as? String else {
                throw TokenizerError.unsupportedComponent(kind: "decoder", type: "Replace with a regex pattern")
            }
            return .replace(s, d["content"] as? String ?? "")
        case "Strip":
            let c = (d["content"] as? String ?? " ").unicodeScalars.first ?? " "
            return .strip(content: c, start: (d["start"] as? NSNumber)?.intValue ?? 0,
                          stop: (d["stop"] as? NSNumber)?.intValue ?? 0)
        case "Metaspace":
            let rep = (d["replacement"] as? String ?? "\u{2581}").unicodeScalars.first ?? "\u{2581}"
            var scheme = PrependScheme.always
            if let s = d["prepend_scheme"] as? String, let p = PrependScheme(rawValue: s) {
                scheme = p
            } else if let add = d["add_prefix_space"] as? Bool {
                scheme = add ? .always : .never
            }
            return .metaspace(replacement: rep, scheme: scheme)
        case let t: throw TokenizerError.unsupportedComponent(kind: "decoder", type: t)
        }
    }
}
