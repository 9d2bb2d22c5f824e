import Compute
import Foundation
import ModelIO

/// A resumable snapshot of a `Trainer`, one safetensors file written atomically (a kill
/// mid-write leaves the previous checkpoint whole):
///   parameters  F32 [n]   θ, the trainable vector (adapters, or the trainable weights)
///   adam.m      F32 [n]   AdamW's first moment
///   adam.v      F32 [n]   AdamW's second moment
///   best        F32 [n]   θ at the best validation so far (absent before any)
///   __metadata__ "secateur.training": JSON of `TrainingCheckpointHeader` (settings, step,
///                 history, the trainable tensors' names and shapes, a fingerprint of the data)
/// The data position and the random state need no saving: both are functions of (seed, step).
public struct TrainingCheckpointHeader: Codable, Equatable, Sendable {
    public static let metadataKey = "secateur.training"
    public static let currentVersion = 1

    public var version: Int
    public var settings: TrainingSettings
    public var step: Int
    public var adamStep: Int
    public var history: TrainingHistory
    public var validationsSinceBest: Int
    public var tensorNames: [String]
    public var tensorShapes: [[Int]]
    /// FNV-1a over every training and validation token and label: resuming on other data is refused.
    public var dataFingerprint: String
}

extension Trainer {
    /// Writes the checkpoint to `path` (atomically).
    public func save(to path: String) throws {
        let header = TrainingCheckpointHeader(
            version: TrainingCheckpointHeader.currentVersion, settings: settings, step: step,
            adamStep: optimizerState.step, history: history, validationsSinceBest: validationsSinceBestCount,
            tensorNames: trainable.tensors.map(\.name), tensorShapes: trainable.tensors.map(\.shape),
            dataFingerprint: dataFingerprint)
        let json = String(decoding: try JSONEncoder().encode(header), as: UTF8.self)
        var w = SafetensorsWriter(metadata: [TrainingCheckpointHeader.metadataKey: json, "format": "pt"])
        let n = trainable.count
        do {
            try w.add("parameters", shape: [n], data: currentValues)
            try w.add("adam.m", shape: [n], data: optimizerState.firstMoment)
            try w.add("adam.v", shape: [n], data: optimizerState.secondMoment)
            if let b = bestValues { try w.add("best", shape: [n], data: b) }
            try w.write(to: path)
        } catch {
            throw TrainingError.checkpoint(path: path, reason: "\(error)")
        }
    }

    /// Continues from a checkpoint written by a run with the same settings, trainable tensors
    /// and data: puts θ back into the model and restores the optimizer and the history.
    public func resume(from path: String) throws {
        func fail(_ r: String) -> TrainingError { .checkpoint(path: path, reason: r) }
        guard FileManager.default.fileExists(atPath: path) else { throw fail("no such file") }
        let file: SafetensorsFile
        do { file = try SafetensorsFile(path: path) } catch { throw fail("\(error)") }
        guard let json = file.metadata[TrainingCheckpointHeader.metadataKey],
              let header = try? JSONDecoder().decode(TrainingCheckpointHeader.self, from: Data(json.utf8)) else {
            throw fail("not a Secateur training checkpoint")
        }
        guard header.version == TrainingCheckpointHeader.currentVersion else { throw fail("written by format version \(header.version)") }
        guard header.settings == settings else { throw fail("written with other training settings; resume with the same ones") }
        guard header.tensorNames == trainable.tensors.map(\.name), header.tensorShapes == trainable.tensors.map(\.shape) else {
            throw fail("its trainable tensors differ from this run's (another model, method or targets)")
        }
        guard header.dataFingerprint == dataFingerprint else { throw fail("written for other training data") }
        guard header.step >= 0, header.step <= settings.steps else { throw fail("step \(header.step) is outside the run") }
        let n = trainable.count
        func vector(_ name: String) throws -> [Float] {
            guard file.shape(of: name) == [n] else { throw fail("tensor \(name) is missing or not [\(n)]") }
            do { return try file.loadFloat32(name) } catch { throw fail("\(error)") }
        }
        let p = try vector("parameters"), m = try vector("adam.m"), v = try vector("adam.v")
        let b = file.shape(of: "best") == nil ? nil : try vector("best")
        restore(step: header.step, values: p, adam: AdamWState(step: header.adamStep, firstMoment: m, secondMoment: v),
                best: b, history: header.history, validationsSinceBest: header.validationsSinceBest)
    }

    var dataFingerprint: String {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        func mix(_ x: Int32) {
            for k in 0..<4 { h = (h ^ UInt64(UInt8(truncatingIfNeeded: x >> (8 * k)))) &* 0x0000_0100_0000_01b3 }
        }
        for e in train + [TrainingExample(window: [-1])] + validation {
            e.tokens.forEach(mix); mix(-7); e.labels.forEach(mix); mix(-9)
        }
        return String(h, radix: 16)
    }
}
