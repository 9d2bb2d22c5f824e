import LLM

/// Bytes batch-1 decode reads from memory per token: every block matrix in its storage (and
/// its bias), the LM head as it runs (encoded or float32), the norms, one embedding row, and
/// the cached keys and values attention reads (the context averaged over the decoded tokens).
/// Divided into the machine's read bandwidth it gives the fastest decode possible.
public enum DecodeTraffic {
    public static func bytesPerToken(_ model: LanguageModel, promptLength: Int, decodeTokens: Int) -> Int {
        var bytes = 0
        for i in 0..<model.layerCount {
            for p in model.projections {
                let l = model.linear(p, layer: i)
                bytes += l.weightBytes + 4 * (l.bias?.count ?? 0)
            }
        }
        bytes += model.encodedHead?.bytes ?? 4 * model.vocabSize * model.headInputSize
        bytes += model.parameters.reduce(0) { n, t in
            if case .norm = t.role { return n + 4 * t.count }
            return n
        }
        bytes += 4 * model.hiddenSize
        let averageContext = promptLength + (decodeTokens + 1) / 2
        return bytes + KVCacheBytes.of(model, context: averageContext)
    }
}
