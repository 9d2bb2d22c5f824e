import ModelIO

/// Every tensor of a Hugging Face directory as float32, by name (for comparing written checkpoints).
public func checkpointTensors(_ directory: String) throws -> [String: [Float]] {
    let src = try HFCheckpoint(directory: directory)
    var out: [String: [Float]] = [:]
    for n in src.tensorNames { out[n] = try src.loadFloat32(n) }
    return out
}
