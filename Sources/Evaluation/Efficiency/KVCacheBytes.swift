import LLM

/// Bytes of the float32 key/value cache for a context of `context` positions: per layer,
/// keys and values of kvHeads × headDim each (layers differ after structured pruning).
public enum KVCacheBytes {
    public static func of(_ model: LanguageModel, context: Int) -> Int {
        model.blockShapes.reduce(0) { $0 + 2 * $1.kvWidth * context * MemoryLayout<Float>.size }
    }
}
