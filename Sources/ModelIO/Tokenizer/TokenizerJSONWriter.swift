import Foundation

// Writing a Hugging Face `tokenizer.json` (the serialization of HF `tokenizers`) for any
// tokenizer Secateur holds — one read from a tokenizer.json, or built from GGUF metadata the
// way transformers builds it — so an exported model directory loads with `AutoTokenizer`
// without a GGUF beside it. The JSON mirrors what `Tokenizer(tokenizerJSON:)` reads: every
// component written here is one that reader parses back to the same stage.

extension Tokenizer {
    /// The tokenizer.json object. Merges are written as `[left, right]` pairs (tokenizers
    /// ≥ 0.20), which keeps tokens that contain spaces unambiguous.
    public func tokenizerJSONObject() -> [String: Any] {
        var vocab: [String: Any] = [:]
        vocab.reserveCapacity(model.vocab.count)
        for (token, id) in model.vocab { vocab[token] = Int(id) }
        var ranked: [(rank: UInt64, pair: [String])] = []
        ranked.reserveCapacity(model.merges.count)
        for (key, value) in model.merges {
            let l = Int(key >> 32), r = Int(key & 0xFFFF_FFFF)
            guard let a = model.idToToken[l], let b = model.idToToken[r] else { continue }
            ranked.append((value >> 32, [a, b]))
        }
        ranked.sort { $0.rank < $1.rank }
        let modelObj: [String: Any] = [
            "type": "BPE",
            "dropout": NSNull(),
            "unk_token": model.unkToken.map { $0 as Any } ?? NSNull(),
            "continuing_subword_prefix": model.continuingSubwordPrefix.map { $0 as Any } ?? NSNull(),
            "end_of_word_suffix": model.endOfWordSuffix.map { $0 as Any } ?? NSNull(),
            "fuse_unk": model.fuseUnk,
            "byte_fallback": model.byteFallback,
            "ignore_merges": model.ignoreMerges,
            "vocab": vocab,
            "merges": ranked.map(\.pair),
        ]
        let added: [[String: Any]] = addedTokens.sorted { $0.id < $1.id }.map { t in
            ["id": Int(t.id), "content": t.content, "single_word": t.singleWord, "lstrip": t.lstrip,
             "rstrip": t.rstrip, "normalized": t.normalized, "special": t.special]
        }
        return [
            "version": "1.0",
            "truncation": NSNull(),
            "padding": NSNull(),
            "added_tokens": added,
            "normalizer": normalizer.map(JSONComponentWriter.normalizer) ?? NSNull(),
            "pre_tokenizer": preTokenizer.map(JSONComponentWriter.preTokenizer) ?? NSNull(),
            "post_processor": JSONComponentWriter.postProcessor(postProcessor, tokenString: tokenString),
            "decoder": decoder.map(JSONComponentWriter.decoder) ?? NSNull(),
            "model": modelObj,
        ]
    }

    /// tokenizer.json bytes.
    public func tokenizerJSONData() throws -> Data {
        do {
            return try JSONSerialization.data(withJSONObject: tokenizerJSONObject(), options: [.sortedKeys])
        } catch {
            throw TokenizerError.malformedJSON("cannot serialize the tokenizer: \(error.localizedDescription)")
        }
    }

    /// A tokenizer_config.json for `PreTrainedTokenizerFast` naming this tokenizer's special
    /// tokens, whether it adds BOS/EOS (informational: the post-processor does the adding), the
    /// chat template and the context length.
    public func tokenizerConfigObject(chatTemplate: String?, modelMaxLength: Int) -> [String: Any] {
        var c: [String: Any] = [
            "tokenizer_class": "PreTrainedTokenizerFast",
            "clean_up_tokenization_spaces": false,
            "model_max_length": modelMaxLength,
            "add_bos_token": !postProcessor.prefix.isEmpty,
            "add_eos_token": !postProcessor.suffix.isEmpty,
        ]
        for (key, id) in [("bos_token", bosTokenID), ("eos_token", eosTokenID), ("unk_token", unkTokenID), ("pad_token", padTokenID)] {
            if let id, let s = tokenString(id) { c[key] = s }
        }
        if let chatTemplate { c["chat_template"] = chatTemplate }
        return c
    }
}

/// JSON objects for each pipeline stage, in the spelling tokenizers serializes.
enum JSONComponentWriter {
    static func pattern(_ p: SplitPattern) -> [String: Any] {
        switch p {
        case .gpt2: return ["Regex": SplitPattern.gpt2Source]
        case .llama3: return ["Regex": SplitPattern.llama3Source]
        case .qwen2: return ["Regex": SplitPattern.qwen2Source]
        case .literal(let s): return ["String": string(from: s)]
        case .regex(let re): return ["Regex": re.pattern]
        }
    }

    static func normalizer(_ n: Normalizer) -> [String: Any] {
        switch n {
        case .sequence(let list): return ["type": "Sequence", "normalizers": list.map(normalizer)]
        case .prepend(let p): return ["type": "Prepend", "prepend": string(from: p)]
        case .replace(let p, let content):
            return ["type": "Replace", "pattern": pattern(p), "content": string(from: content)]
        case .nfc: return ["type": "NFC"]
        case .nfd: return ["type": "NFD"]
        case .nfkc: return ["type": "NFKC"]
        case .nfkd: return ["type": "NFKD"]
        case .lowercase: return ["type": "Lowercase"]
        case .strip(let l, let r): return ["type": "Strip", "strip_left": l, "strip_right": r]
        }
    }

    static func preTokenizer(_ p: PreTokenizer) -> [String: Any] {
        switch p {
        case .sequence(let list): return ["type": "Sequence", "pretokenizers": list.map(preTokenizer)]
        case .byteLevel(let prefix, let regex):
            return ["type": "ByteLevel", "add_prefix_space": prefix, "trim_offsets": true, "use_regex": regex]
        case .split(let pat, let behavior, let invert):
            return ["type": "Split", "pattern": pattern(pat), "behavior": behavior.rawValue, "invert": invert]
        case .digits(let individual): return ["type": "Digits", "individual_digits": individual]
        case .metaspace(let rep, let scheme, let split):
            return ["type": "Metaspace", "replacement": string(from: [rep]), "prepend_scheme": scheme.rawValue, "split": split]
        case .whitespaceSplit: return ["type": "WhitespaceSplit"]
        }
    }

    /// TemplateProcessing with the ids added before and after a sequence (null when none).
    static func postProcessor(_ p: PostProcessor, tokenString: (Int32) -> String?) -> Any {
        if p.prefix.isEmpty && p.suffix.isEmpty { return NSNull() }
        var specials: [String: Any] = [:]
        func item(_ id: Int32, typeID: Int) -> [String: Any] {
            let name = tokenString(id) ?? "<\(id)>"
            specials[name] = ["id": name, "ids": [Int(id)], "tokens": [name]]
            return ["SpecialToken": ["id": name, "type_id": typeID]]
        }
        func template(pair: Bool) -> [[String: Any]] {
            var out = p.prefix.map { item($0, typeID: 0) }
            out.append(["Sequence": ["id": "A", "type_id": 0]])
            out += p.suffix.map { item($0, typeID: 0) }
            if pair {
                out += p.prefix.map { item($0, typeID: 1) }
                out.append(["Sequence": ["id": "B", "type_id": 1]])
                out += p.suffix.map { item($0, typeID: 1) }
            }
            return out
        }
        let single = template(pair: false), pair = template(pair: true)
        return ["type": "TemplateProcessing", "single": single, "pair": pair, "special_tokens": specials]
    }

    static func decoder(_ d: Decoder) -> [String: Any] {
        switch d {
        case .sequence(let list): return ["type": "Sequence", "decoders": list.map(decoder)]
        case .byteLevel: return ["type": "ByteLevel", "add_prefix_space": true, "trim_offsets": true, "use_regex": true]
        case .replace(let pattern, let content): return ["type": "Replace", "pattern": ["String": pattern], "content": content]
        case .byteFallback: return ["type": "ByteFallback"]
        case .fuse: return ["type": "Fuse"]
        case .strip(let c, let start, let stop): return ["type": "Strip", "content": String(c), "start": start, "stop": stop]
        case .metaspace(let rep, let scheme):
            return ["type": "Metaspace", "replacement": String(rep), "prepend_scheme": scheme.rawValue, "split": true]
        }
    }
}
