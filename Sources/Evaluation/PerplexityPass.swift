/// How a window's tokens go through the model when perplexity is measured.
///
/// `prefill` runs the whole window in one forward (matrix products over all its tokens), as
/// the papers and lm-eval do. `decode` feeds it one token at a time through the KV cache, the
/// path generation takes: batch-1 kernels, and for block-quantized weights 8-bit activations
/// (`EncodedRows.matrixVector`), so it measures what a user of `generate` gets.
public enum PerplexityPass: String, Codable, CaseIterable, Sendable {
    case prefill, decode
}
