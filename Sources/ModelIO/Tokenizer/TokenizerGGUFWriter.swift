import Foundation

// GGUF tokenizer metadata (`tokenizer.ggml.*`) for a tokenizer read from a tokenizer.json,
// as llama.cpp's convert_hf_to_gguf.py writes it:
//
// * byte-level BPE → model `gpt2`: tokens in byte-level spelling, merges "left right" in rank
//   order, token types (CONTROL for special added tokens, USER_DEFINED for other added tokens,
//   NORMAL otherwise), and `pre` naming llama.cpp's split for the pre-tokenizer's regex
//   (llama-bpe for Llama 3's, qwen2 for Qwen2's, smollm for digits + GPT-2, gpt-2 else).
// * SentencePiece-style BPE (Metaspace + byte fallback) → model `llama`: tokens, scores,
//   types (BYTE for <0xXX>, UNKNOWN for the unk token, CONTROL/USER_DEFINED for added tokens).
//   llama.cpp's SentencePiece tokenizer merges by score, so the scores are −rank of the merge
//   that produces each token (0 for tokens no merge produces); the merges are written too, which
//   transformers (and Secateur's reader) use directly.
// A tokenizer that came from GGUF metadata is better carried over key by key (the exporter does).

extension Tokenizer {
    /// The `tokenizer.ggml.*` key/values for this tokenizer.
    public func ggufMetadata() throws -> [(String, GGUFValue)] {
        let n = model.idToToken.count
        let byteLevel = model.byteLevelIDs.contains { $0 >= 0 } && !model.byteFallback
        let sentencePiece = model.byteFallback
        guard byteLevel || sentencePiece else {
            throw TokenizerError.unsupportedModel("BPE without byte-level spelling or byte fallback cannot be written as GGUF tokenizer metadata")
        }
        var tokens = [String](repeating: "", count: n)
        for i in 0..<n {
            guard let t = model.idToToken[i] else {
                throw TokenizerError.invalidMetadata("vocabulary id \(i) has no token; GGUF needs a dense vocabulary")
            }
            tokens[i] = t
        }
        let addedByID = Dictionary(addedTokens.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
        var types = [GGUFValue](repeating: .int32(GGUFTokenType.normal.rawValue), count: n)
        for i in 0..<n {
            var t = GGUFTokenType.normal
            if let a = addedByID[Int32(i)] { t = a.special ? .control : .userDefined }
            else if sentencePiece, model.byteFallbackIDs.contains(Int32(i)) { t = .byte }
            else if let u = model.unkID, u == Int32(i) { t = .unknown }
            types[i] = .int32(t.rawValue)
        }
        var ranked: [(rank: UInt64, left: Int, right: Int, merged: Int)] = []
        for (key, value) in model.merges {
            ranked.append((value >> 32, Int(key >> 32), Int(key & 0xFFFF_FFFF), Int(value & 0xFFFF_FFFF)))
        }
        ranked.sort { $0.rank < $1.rank }
        let merges = ranked.map { GGUFValue.string(tokens[$0.left] + " " + tokens[$0.right]) }

        var md: [(String, GGUFValue)] = []
        md.append(("tokenizer.ggml.model", .string(byteLevel ? "gpt2" : "llama")))
        if byteLevel { md.append(("tokenizer.ggml.pre", .string(ggufPreName))) }
        md.append(("tokenizer.ggml.tokens", .array(.string, tokens.map { .string($0) })))
        if sentencePiece {
            var scores = [Float](repeating: 0, count: n)
            for m in ranked.reversed() { scores[m.merged] = -Float(m.rank) }
            md.append(("tokenizer.ggml.scores", .array(.float32, scores.map { .float32($0) })))
        }
        md.append(("tokenizer.ggml.token_type", .array(.int32, types)))
        md.append(("tokenizer.ggml.merges", .array(.string, merges)))
        for (key, id) in [("bos", bosTokenID), ("eos", eosTokenID), ("unknown", unkTokenID), ("padding", padTokenID)] {
            if let id { md.append(("tokenizer.ggml.\(key)_token_id", .uint32(UInt32(id)))) }
        }
        md.append(("tokenizer.ggml.add_bos_token", .bool(!postProcessor.prefix.isEmpty)))
        md.append(("tokenizer.ggml.add_eos_token", .bool(!postProcessor.suffix.isEmpty)))
        return md
    }

    /// llama.cpp's `tokenizer.ggml.pre` for this byte-level pre-tokenizer.
    var ggufPreName: String {
        func patterns(_ p: PreTokenizer?) -> [String] {
            switch p {
            case .sequence(let list)?: return list.flatMap { patterns($0) }
            case .split(.llama3, _, _)?: return ["llama3"]
            case .split(.qwen2, _, _)?: return ["qwen2"]
            case .split(.gpt2, _, _)?: return ["gpt2"]
            case .digits?: return ["digits"]
            case .byteLevel(_, true)?: return ["gpt2"]
            default: return []
            }
        }
        let found = patterns(preTokenizer)
        if found.contains("llama3") { return "llama-bpe" }
        if found.contains("qwen2") { return "qwen2" }
        if found.contains("digits") { return "smollm" }
        return "gpt-2"
    }
}
