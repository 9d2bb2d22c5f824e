import Compute
import Foundation

/// Picks the next token from logits: greedy (temperature 0) or temperature + nucleus (top-p)
/// sampling (Holtzman et al. 2020) from a seeded generator, so runs are reproducible.
public struct Sampler {
    public var temperature: Float
    public var topP: Float
    private var rng: SeededRNG

    public init(temperature: Float = 0, topP: Float = 1, seed: UInt64 = 0) {
        self.temperature = temperature; self.topP = topP
        rng = SeededRNG(seed: seed)
    }

    public mutating func next(_ logits: [Float]) -> Int32 {
        if temperature <= 0 {
            var best = 0
            for i in 1..<logits.count where logits[i] > logits[best] { best = i }
            return Int32(best)
        }
        let m = logits.max() ?? 0
        var probs = logits.map { fastExp(($0 - m) / temperature) }
        let z = probs.reduce(0, +)
        for i in probs.indices { probs[i] /= z }
        var order = Array(probs.indices)
        order.sort { probs[$0] > probs[$1] }
        // Smallest prefix whose mass reaches top-p.
        var kept = 0, mass: Float = 0
        while kept < order.count { mass += probs[order[kept]]; kept += 1; if mass >= topP { break } }
        var u = rng.nextFloat() * mass
        for i in 0..<kept {
            u -= probs[order[i]]
            if u <= 0 { return Int32(order[i]) }
        }
        return Int32(order[kept - 1])
    }
}

extension LanguageModel {
    /// Continues `prompt` by up to `maxTokens` tokens with a KV cache, stopping at `stop`.
    /// `onToken` sees each new token as it is produced.
    public func generate(prompt: [Int32], maxTokens: Int, sampler: inout Sampler, stop: Set<Int32> = [],
                         onToken: (Int32) -> Void = { _ in }) throws -> [Int32] {
        guard !prompt.isEmpty else { throw LLMError.emptyPrompt }
        let cache = makeCache(capacity: prompt.count + maxTokens)
        var logits = try lastLogits(prompt, cache: cache)
        var out: [Int32] = []
        for _ in 0..<maxTokens {
            let t = sampler.next(logits)
            if stop.contains(t) { break }
            out.append(t)
            onToken(t)
            logits = try lastLogits([t], cache: cache)
        }
        return out
    }
}
