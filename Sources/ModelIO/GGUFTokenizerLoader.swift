extension Tokenizer {
    /// The tokenizer a GGUF file declares in its `tokenizer.ggml.*` metadata.
    public convenience init(gguf file: GGUFFile) throws {
        let m = file.metadata
        guard let model = m["tokenizer.ggml.model"]?.string else {
            throw TokenizerError.invalidMetadata("\(file.path) has no tokenizer (tokenizer.ggml.model is missing)")
        }
        guard let tokens = m["tokenizer.ggml.tokens"]?.strings else {
            throw TokenizerError.invalidMetadata("\(file.path) has no tokenizer.ggml.tokens")
        }
        try self.init(ggufModel: model, pre: m["tokenizer.ggml.pre"]?.string, tokens: tokens,
                      tokenTypes: m["tokenizer.ggml.token_type"]?.ints?.map { Int32($0) },
                      merges: m["tokenizer.ggml.merges"]?.strings, scores: m["tokenizer.ggml.scores"]?.floats,
                      bosID: m["tokenizer.ggml.bos_token_id"]?.int, eosID: m["tokenizer.ggml.eos_token_id"]?.int,
                      unkID: m["tokenizer.ggml.unknown_token_id"]?.int, padID: m["tokenizer.ggml.padding_token_id"]?.int,
                      addBOS: m["tokenizer.ggml.add_bos_token"]?.bool, addEOS: m["tokenizer.ggml.add_eos_token"]?.bool,
                      addSpacePrefix: m["tokenizer.ggml.add_space_prefix"]?.bool,
                      architecture: m["general.architecture"]?.string)
    }
}
