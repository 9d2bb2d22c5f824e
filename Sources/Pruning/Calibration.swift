import Compute
import Foundation
import ModelIO

/// Calibration windows: N windows of L tokens whose activations drive Wanda, SparseGPT and RIA.
public enum Calibration {
    /// The sampling of the Wanda/SparseGPT `get_c4` loader: pick a random document until one has
    /// more than `seqlen` tokens, then a random window of `seqlen` tokens inside it; repeat
    /// `nsamples` times. Our generator is SplitMix64, not Python's, so the windows differ from the
    /// reference's for the same seed; `fromTokenFile` runs exactly the reference's windows.
    public static func sample(documents: [String], tokenizer: Tokenizer, nsamples: Int, seqlen: Int,
                              seed: UInt64) throws -> [[Int32]] {
        guard nsamples > 0, seqlen > 1 else { throw PruningError.invalidSetting("nsamples and seqlen must be positive") }
        let tokenized = documents.map { tokenizer.encode($0) }
        let eligible = tokenized.indices.filter { tokenized[$0].count > seqlen }
        let total = tokenized.reduce(0) { $0 + $1.count }
        guard !eligible.isEmpty, total >= nsamples * seqlen else {
            throw PruningError.invalidSetting(
                "calibration text has \(total) tokens in \(documents.count) documents (\(eligible.count) longer than \(seqlen) tokens); "
                + "nsamples \(nsamples) × seqlen \(seqlen) = \(nsamples * seqlen) needs more — lower them")
        }
        var rng = SeededRNG(seed: seed)
        var windows: [[Int32]] = []
        for _ in 0..<nsamples {
            let doc = tokenized[eligible[Int(rng.next() % UInt64(eligible.count))]]
            let start = Int(rng.next() % UInt64(doc.count - seqlen))
            windows.append(Array(doc[start..<(start + seqlen)]))
        }
        return windows
    }

    /// The sampling of the reference `get_wikitext2`/`get_ptb` loaders: the whole training text is
    /// one token stream and each window starts at a random position in it.
    public static func sample(stream: [Int32], nsamples: Int, seqlen: Int, seed: UInt64) throws -> [[Int32]] {
        guard nsamples > 0, seqlen > 1 else { throw PruningError.invalidSetting("nsamples and seqlen must be positive") }
        guard stream.count > seqlen else {
            throw PruningError.invalidSetting("calibration text has \(stream.count) tokens, not more than seqlen \(seqlen)")
        }
        var rng = SeededRNG(seed: seed)
        return (0..<nsamples).map { _ in
            let start = Int(rng.next() % UInt64(stream.count - seqlen))
            return Array(stream[start..<(start + seqlen)])
        }
    }

    /// Windows from a file of little-endian int32 token ids (N × seqlen, no header), e.g. written
    /// by bench/make_calib_tokens.py with the reference code's own sampler.
    public static func fromTokenFile(_ path: String, seqlen: Int, nsamples: Int?, vocabSize: Int) throws -> [[Int32]] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw PruningError.invalidSetting("calibration token file \(path) cannot be read")
        }
        guard data.count % 4 == 0, (data.count / 4) % seqlen == 0, data.count > 0 else {
            throw PruningError.invalidSetting("\(path) holds \(data.count) bytes, not a whole number of int32 windows of \(seqlen) tokens")
        }
        let ids: [Int32] = data.withUnsafeBytes { raw in (0..<(data.count / 4)).map { Int32(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * 4, as: Int32.self)) } }
        if let bad = ids.first(where: { $0 < 0 || Int($0) >= vocabSize }) {
            throw PruningError.invalidSetting("\(path) contains token id \(bad), outside the vocabulary of \(vocabSize)")
        }
        let available = ids.count / seqlen
        let n = nsamples ?? available
        guard n <= available else {
            throw PruningError.invalidSetting("\(path) has \(available) windows of \(seqlen) tokens, fewer than nsamples \(n)")
        }
        return (0..<n).map { Array(ids[($0 * seqlen)..<(($0 + 1) * seqlen)]) }
    }
}
