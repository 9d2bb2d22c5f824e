/// Upper bounds on the sizes a config or GGUF header may declare. Real checkpoints are far below
/// them (the largest public LLMs have a few hundred layers, widths under 10⁶ and vocabularies under
/// 10⁶); a larger value is a corrupt or hostile file. Layers stop at 2¹², ten times the deepest
/// public model: a config's shape builds its parameter registry (16 tensors per OPT layer), and at
/// 41,115 layers that took 5 s under the fuzzer's AddressSanitizer (2¹⁶ was the limit then). Refusing it at parse time keeps per-layer
/// tables, shape products and allocations derived from it from hanging the process or
/// overflowing (release builds use -Ounchecked).
public enum ModelSizeLimits {
    public static let layers = 1 << 12
    public static let width = 1 << 24

    /// Why `value` is not acceptable for `key` (a layer count if `isLayerCount`, else a width), or nil.
    public static func problem(_ value: Int, isLayerCount: Bool = false) -> String? {
        if value <= 0 { return "must be positive, got \(value)" }
        let limit = isLayerCount ? layers : width
        if value > limit { return "is \(value), more than any real checkpoint has (at most \(limit)); the file is corrupt" }
        return nil
    }
}
