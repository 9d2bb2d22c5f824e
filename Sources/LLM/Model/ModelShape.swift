import Foundation
import ModelIO

/// A checkpoint's sizes without its weights: what a run's memory plan is computed from
/// before anything large is read (DESIGN.md §11).
public struct ModelShape: Sendable {
    public var architecture: String
    public var hiddenSize: Int
    public var vocabSize: Int
    public var blocks: [BlockShape]
    /// The parameter registry the loaded model would have (names, shapes, roles).
    public var parameters: [ParameterTensor]
    /// Bytes the checkpoint stores per parameter on average (2 for BF16/F16, 4 for F32,
    /// ≈ 0.56 for GGUF Q4_1): what a tensor's mapped pages cost while it is decoded.
    public var storedBytesPerValue: Double

    public init(architecture: String, hiddenSize: Int, vocabSize: Int, blocks: [BlockShape],
                parameters: [ParameterTensor], storedBytesPerValue: Double) {
        self.architecture = architecture; self.hiddenSize = hiddenSize; self.vocabSize = vocabSize
        self.blocks = blocks; self.parameters = parameters; self.storedBytesPerValue = storedBytesPerValue
    }

    /// The shape of a model already in memory (stored as float32 unless said otherwise).
    public init(model: LanguageModel, storedBytesPerValue: Double = 4) {
        self.init(architecture: model.architecture, hiddenSize: model.hiddenSize, vocabSize: model.vocabSize,
                  blocks: model.blockShapes, parameters: model.parameters, storedBytesPerValue: storedBytesPerValue)
    }

    /// An OPT checkpoint's shape from its config alone.
    public init(config c: OPTConfig, storedBytesPerValue: Double) {
        // `heads` and `ffnDims` build a per-layer array on each call: take them once (indexing
        // them inside the map cost O(layers²), seconds for a config claiming thousands of layers).
        let heads = c.heads, ffnDims = c.ffnDims
        self.init(architecture: "opt", hiddenSize: c.hiddenSize, vocabSize: c.vocabSize,
                  blocks: zip(heads, ffnDims).map {
                      BlockShape(heads: $0, kvHeads: $0, headDim: c.headDim, intermediateSize: $1)
                  },
                  parameters: OPTModel.parameters(config: c), storedBytesPerValue: storedBytesPerValue)
    }

    /// A Llama-family checkpoint's shape from its config alone.
    public init(config: ModelConfig, storedBytesPerValue: Double) {
        let parameters = LlamaModel.parameters(config: config)
        self.init(architecture: config.architecture, hiddenSize: config.hiddenSize, vocabSize: config.vocabSize,
                  blocks: (0..<config.numLayers).map {
                      BlockShape(heads: config.numHeads[$0], kvHeads: config.numKVHeads[$0], headDim: config.headDim,
                                 intermediateSize: config.intermediateSizes[$0])
                  },
                  parameters: parameters, storedBytesPerValue: storedBytesPerValue)
    }

    public var parameterCount: Int { parameters.reduce(0) { $0 + $1.count } }

    /// Parameters of block i (projections, biases, norms).
    public func blockParameterCount(_ i: Int) -> Int {
        parameters.reduce(0) { $0 + ($1.role.layer == i ? $1.count : 0) }
    }

    /// Parameters outside the blocks: embeddings, final norm, head.
    public var nonBlockParameterCount: Int { parameters.reduce(0) { $0 + ($1.role.layer == nil ? $1.count : 0) } }

    /// The largest block's parameter count (0 without blocks). One pass over the registry: asking
    /// `blockParameterCount` of every block scanned it once per block, which for a config.json
    /// claiming tens of thousands of layers kept the memory plan busy for hours.
    public var largestBlockParameterCount: Int {
        var perBlock = [Int](repeating: 0, count: blocks.count)
        for p in parameters {
            if let l = p.role.layer, perBlock.indices.contains(l) { perBlock[l] += p.count }
        }
        return perBlock.max() ?? 0
    }

    /// The largest single tensor's element count.
    public var largestTensorCount: Int { parameters.map(\.count).max() ?? 0 }
}

extension ModelLoader {
    /// The shape of the model `spec` names, read from its config (Llama family: config.json or
    /// GGUF metadata, no weights decoded; OPT: config.json).
    public static func shape(_ spec: String) throws -> ModelShape {
        let location = try ModelCache.resolve(spec)
        switch location {
        case .gguf(let url):
            let checkpoint = try wrapErrors(url.path) { try GGUFCheckpoint(file: try GGUFFile(path: url.path)) }
            let shape = ModelShape(config: checkpoint.config, storedBytesPerValue: 4)
            return with(shape, storedBytes: fileBytes(url.path))
        case .huggingFaceDirectory(let dir):
            if OPTConfig.describes(directory: dir.path) {
                let config = try OPTConfig.load(path: (dir.path as NSString).appendingPathComponent(HFCheckpoint.configFileName))
                let files = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasSuffix(".safetensors") }
                return with(ModelShape(config: config, storedBytesPerValue: 4),
                            storedBytes: files.reduce(0) { $0 + fileBytes((dir.path as NSString).appendingPathComponent($1)) })
            }
            let checkpoint = try wrapErrors(dir.path) { try HFCheckpoint(directory: dir.path) }
            let shape = ModelShape(config: checkpoint.config, storedBytesPerValue: 4)
            return with(shape, storedBytes: checkpoint.files.reduce(0) { $0 + fileBytes($1.path) })
        }
    }

    private static func with(_ shape: ModelShape, storedBytes: Int) -> ModelShape {
        var s = shape
        if storedBytes > 0 { s.storedBytesPerValue = Double(storedBytes) / Double(max(1, s.parameterCount)) }
        return s
    }

    private static func fileBytes(_ path: String) -> Int {
        ((try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? NSNumber)?.intValue ?? 0
    }
}
