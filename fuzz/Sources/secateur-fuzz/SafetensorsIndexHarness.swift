import Foundation
import ModelIO

/// A sharded checkpoint: the input is `model.safetensors.index.json`, then each shard, joined
/// by `SafetensorsIndexHarness.separator`; shard k is written as model-0000k-of-0000n.safetensors
/// (the names the index is expected to use). The directory is opened, every tensor decoded,
/// and the model run when the tensors make the fixed tiny one.
enum SafetensorsIndexHarness {
    static let separator = "\u{0}--shard--\u{0}"

    static func shardName(_ k: Int, of n: Int) -> String {
        String(format: "model-%05d-of-%05d.safetensors", k, n)
    }

    static func run(_ input: Data) {
        let parts = input.parts(separatedBy: separator)
        let dir = Scratch.directory()
        Scratch.write(parts[0], HFCheckpoint.indexFileName, in: dir)
        let shards = parts.dropFirst().prefix(8)
        for (k, shard) in shards.enumerated() {
            Scratch.write(shard, shardName(k + 1, of: shards.count), in: dir)
        }
        guard let weights = Refusal.attempt("SafetensorsDirectory", { try SafetensorsDirectory(directory: dir) }) else { return }
        for name in weights.tensorNames { _ = try? weights.loadTensor(name) }
        for file in weights.files { SafetensorsHarness.decodeAll(file) }
        Scratch.write(SeedModel.configJSON, HFCheckpoint.configFileName, in: dir)
        SafetensorsHarness.runModel(directory: dir)
    }
}
