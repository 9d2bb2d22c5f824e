import ModelIO

/// Decoder blocks that stay in their checkpoint and are brought into memory one at a time, so
/// a model larger than memory can be pruned and evaluated block by block (DESIGN.md §11):
/// the model keeps every block's shape, and only the blocks loaded hold weights.
public protocol LayerResidency: AnyObject {
    /// Makes block i's weights resident (a no-op when they are).
    func load(_ i: Int) throws
    /// Drops block i's weights (its shape stays); a later `load` reads them again.
    func release(_ i: Int)
    /// Whether block i's weights are in memory.
    func isResident(_ i: Int) -> Bool
}

/// `LayerResidency` for the Llama family: blocks read from the checkpoint on demand.
public final class LlamaLayerStream: LayerResidency {
    public let model: LlamaModel
    let source: TensorSource
    private var resident: Set<Int> = []
    /// Each block's shape-only stand-in, put back on release.
    private let placeholders: [LlamaBlock]

    /// The checkpoint's model with only the embedding, final norm and head in memory.
    public convenience init(checkpoint: CheckpointSource) throws {
        try self.init(config: checkpoint.config, tensors: checkpoint)
    }

    /// The model `config` describes over any tensor source (a checkpoint, or tensors computed
    /// on demand as a structurally pruned model's are).
    init(config: ModelConfig, tensors: TensorSource) throws {
        source = tensors
        model = try LlamaModel(config: config, tensors: tensors, resident: false)
        placeholders = model.layers
    }

    public func load(_ i: Int) throws {
        guard !resident.contains(i) else { return }
        model.layers[i] = try LlamaModel.block(i, config: model.config, tensors: source)
        resident.insert(i)
    }

    public func release(_ i: Int) {
        guard resident.remove(i) != nil else { return }
        model.layers[i] = placeholders[i]
    }

    public func isResident(_ i: Int) -> Bool { resident.contains(i) }
}
