/// Small hand-written tokenizer.json files for the `tokenizer` harness's seeds, each using
/// different components (normalizers, pre-tokenizers, post-processors, decoders).
enum Tokenizers {
    /// SentencePiece-style BPE (Llama 2): Prepend/Replace normalizer, byte fallback, template.
    static let sentencePiece = #"""
        {"version":"1.0","added_tokens":[{"id":0,"content":"<unk>","special":true,"normalized":false,"lstrip":false,"rstrip":false,"single_word":false},
        {"id":1,"content":"<s>","special":true,"normalized":false,"lstrip":false,"rstrip":false,"single_word":false},
        {"id":2,"content":"</s>","special":true,"normalized":false,"lstrip":false,"rstrip":false,"single_word":false}],
        "normalizer":{"type":"Sequence","normalizers":[{"type":"Prepend","prepend":"▁"},{"type":"Replace","pattern":{"String":" "},"content":"▁"}]},
        "pre_tokenizer":null,
        "post_processor":{"type":"TemplateProcessing","single":[{"SpecialToken":{"id":"<s>","type_id":0}},{"Sequence":{"id":"A","type_id":0}}],
        "pair":[{"Sequence":{"id":"A","type_id":0}},{"Sequence":{"id":"B","type_id":1}}],"special_tokens":{"<s>":{"id":"<s>","ids":[1],"tokens":["<s>"]}}},
        "decoder":{"type":"Sequence","decoders":[{"type":"Replace","pattern":{"String":"▁"},"content":" "},{"type":"ByteFallback"},{"type":"Fuse"},{"type":"Strip","content":" ","start":1,"stop":0}]},
        "model":{"type":"BPE","unk_token":"<unk>","fuse_unk":true,"byte_fallback":true,
        "vocab":{"<unk>":0,"<s>":1,"</s>":2,"<0x0A>":3,"<0xF0>":4,"▁":5,"t":6,"h":7,"e":8,"▁t":9,"he":10,"▁the":11,"a":12,"b":13},
        "merges":["▁ t","h e","▁t he"]}}
        """#

    /// Byte-level BPE with a Split pattern, Digits, NFC and a lowercase normalizer, merges as pairs.
    static let splitDigits = #"""
        {"version":"1.0","added_tokens":[{"id":10,"content":"<|end|>","special":true,"normalized":false,"lstrip":false,"rstrip":false,"single_word":false}],
        "normalizer":{"type":"Sequence","normalizers":[{"type":"NFC"},{"type":"Lowercase"}]},
        "pre_tokenizer":{"type":"Sequence","pretokenizers":[{"type":"Split","pattern":{"Regex":"(?i:'s|'t)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"},"behavior":"Isolated","invert":false},
        {"type":"Digits","individual_digits":true},{"type":"ByteLevel","add_prefix_space":false,"trim_offsets":true,"use_regex":false}]},
        "post_processor":{"type":"ByteLevel","add_prefix_space":true,"trim_offsets":false,"use_regex":true},
        "decoder":{"type":"ByteLevel","add_prefix_space":true,"trim_offsets":true,"use_regex":true},
        "model":{"type":"BPE","unk_token":null,"fuse_unk":false,"byte_fallback":false,"ignore_merges":true,
        "vocab":{"a":0,"b":1,"c":2,"Ġ":3,"Ġa":4,"ab":5,"1":6,"2":7,"Ċ":8,"abc":9},
        "merges":[["Ġ","a"],["a","b"],["ab","c"]]}}
        """#
}
