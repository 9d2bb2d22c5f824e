import Compute
import Foundation
import ModelIO

/// Writes a random Llama-family checkpoint of a given shape as a Hugging Face directory
/// (config.json, sharded safetensors, index), streaming: each shard is produced a piece at a
/// time, so a 7B checkpoint is written in a few MB of memory. For scale work where no real
/// weights are reachable; the directory loads like any other (`ModelLoader`, transformers).
///
/// Values follow transformers' Llama initialisation (`LlamaPreTrainedModel._init_weights`):
/// every linear weight and the embedding N(0, initializerRange²), norms 1, biases 0 — so
/// activations stay finite through all layers. Each tensor's values come from streams seeded
/// by (seed, tensor name, block of 65,536 values): the same seed gives the same bytes whatever
/// the piece size or thread count.
public enum RandomCheckpoint {
    public struct Summary: Sendable, Equatable {
        public var files: [String]
        public var shards: Int
        public var tensorCount: Int
        public var parameterCount: Int
        public var bytes: Int
    }

    static let blockValues = 1 << 16

    /// `byteTokenizer`: also write a byte-level tokenizer (`Tokenizer.byteLevelJSON`, ids 0–255)
    /// so the checkpoint can be calibrated and evaluated on text.
    public static func write(config: ModelConfig, seed: UInt64, dtype: ExportDType, to directory: String,
                             initializerRange: Float = 0.02, byteTokenizer: Bool = false,
                             maxShardBytes: Int = HFExport.defaultMaxShardBytes) throws -> Summary {
        guard let stDType = dtype.safetensorsDType, let torchName = dtype.torchName else {
            throw ExportError.dtypeNotAvailable(dtype, format: .hf)
        }
        guard config.architecture == "llama" || config.architecture == "mistral" || config.architecture == "qwen2" else {
            throw LLMError.invalidConfig("random checkpoints are written for the Llama family (llama, mistral, qwen2), not \(config.architecture)")
        }
        let parameters = LlamaModel.parameters(config: config)
        let bytesPerValue = stDType.byteSize
        let groups = HFExport.shardGroups(parameters, bytesPerValue: bytesPerValue, maxShardBytes: maxShardBytes)
        let roles = Dictionary(uniqueKeysWithValues: parameters.map { ($0.name, $0.role) })
        return try writeDirectoryAtomically(directory) { staged in
            let tmp = staged.path
            func path(_ name: String) -> String { (tmp as NSString).appendingPathComponent(name) }
            var json = hfConfigJSON(config)
            json["torch_dtype"] = nil
            json["dtype"] = torchName
            json["initializer_range"] = Double(initializerRange)
            try writeFileAtomically(HFConfig.encode(json: json), to: path(HFCheckpoint.configFileName))
            var files = [HFCheckpoint.configFileName]
            var weightMap: [String: String] = [:]
            var bytes = 0
            for (k, group) in groups.enumerated() {
                let name = HFExport.shardFileName(k, of: groups.count)
                let writer = try SafetensorsStreamWriter(metadata: ["format": "pt"], tensors: group.map {
                    SafetensorsStreamWriter.Tensor(name: $0.name, shape: $0.shape, dtype: stDType)
                })
                try writer.write(to: path(name)) { t, offset, piece in
                    fill(piece, tensor: t.name, role: roles[t.name]!, offset: offset, seed: seed, std: initializerRange)
                }
                for p in group { weightMap[p.name] = name }
                files.append(name)
                bytes += writer.fileBytes
            }
            if let index = try HFExport.writeShardIndex(groups, weightMap: weightMap, bytesPerValue: bytesPerValue, in: tmp) {
                files.append(index)
            }
            if byteTokenizer {
                guard config.vocabSize >= 256 else {
                    throw LLMError.invalidConfig("a byte tokenizer needs a vocabulary of at least 256 (this one has \(config.vocabSize))")
                }
                try writeFileAtomically(try Tokenizer.byteLevelJSON(), to: path("tokenizer.json"))
                files.append("tokenizer.json")
            }
            return Summary(files: files, shards: groups.count, tensorCount: parameters.count,
                           parameterCount: parameters.reduce(0) { $0 + $1.count }, bytes: bytes)
        }
    }

    /// Values offset..<offset + piece.count of one tensor; blocks of 65,536 filled in parallel.
    static func fill(_ piece: UnsafeMutableBufferPointer<Float>, tensor: String, role: ParameterRole, offset: Int,
                     seed: UInt64, std: Float) {
        switch role {
        case .norm: piece.update(repeating: 1); return
        case .bias: piece.update(repeating: 0); return
        default: break
        }
        precondition(offset % blockValues == 0, "pieces start on whole blocks")
        let base = seed ^ nameHash(tensor)
        let blocks = (piece.count + blockValues - 1) / blockValues
        let out = piece.baseAddress!, count = piece.count
        parallelFor(blocks, minPerThread: 1) { b0, b1 in
            for b in b0..<b1 {
                var rng = SeededRNG(seed: base &+ UInt64(offset / blockValues + b) &* 0x9E37_79B9_7F4A_7C15)
                let start = b * blockValues, end = min(count, start + blockValues)
                var i = start
                while i < end {
                    // Box–Muller: a pair of normals from two uniforms.
                    let u1 = max(rng.nextFloat(), 1e-12), u2 = rng.nextFloat()
                    let r = (-2 * Foundation.log(u1)).squareRoot() * std, theta = 2 * Float.pi * u2
                    out[i] = r * Foundation.cos(theta)
                    if i + 1 < end { out[i + 1] = r * Foundation.sin(theta) }
                    i += 2
                }
            }
        }
    }

    /// FNV-1a of the name: each tensor its own streams.
    static func nameHash(_ s: String) -> UInt64 {
        var h: UInt64 = 0xCBF2_9CE4_8422_2325
        for b in s.utf8 { h = (h ^ UInt64(b)) &* 0x100_0000_01B3 }
        return h
    }
}
