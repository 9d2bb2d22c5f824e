import Compute
import Foundation

/// How adapters are placed (PEFT's LoraConfig: r, lora_alpha, lora_dropout, target_modules).
public struct LoRAConfiguration: Codable, Equatable, Sendable {
    public var rank: Int
    public var alpha: Float
    public var dropout: Float
    /// The projections that get an adapter in every block.
    public var targets: [Projection]

    public init(rank: Int = 8, alpha: Float = 16, dropout: Float = 0.05, targets: [Projection]) {
        self.rank = rank; self.alpha = alpha; self.dropout = dropout; self.targets = targets
    }
}

/// Key suffixes and prefix of PEFT's saved adapters: a module's adapter is
/// "base_model.model.<module>.lora_A.weight" / ".lora_B.weight" in adapter_model.safetensors.
public enum LoRANames {
    public static let a = ".lora_A.weight"
    public static let b = ".lora_B.weight"
    public static let peftPrefix = "base_model.model."
}

public enum LoRAError: Error, CustomStringConvertible, Equatable {
    case invalidRank(Int)
    case invalidDropout(Float)
    case targetNotInModel(Projection, architecture: String)
    case unknownTarget(String, architecture: String, known: [String])
    case noTargets
    case shapeMismatch(name: String, expected: [Int], found: [Int])
    case missingTensor(String)

    public var description: String {
        switch self {
        case .invalidRank(let r): return "LoRA rank must be at least 1 (got \(r))"
        case .invalidDropout(let p): return "LoRA dropout must be in [0, 1) (got \(p))"
        case .targetNotInModel(let p, let a):
            return "the \(a) architecture has no '\(p.rawValue)' projection to adapt"
        case .unknownTarget(let n, let a, let known):
            return "'\(n)' is not a projection of the \(a) architecture; use some of \(known.joined(separator: ","))"
        case .noTargets: return "no projection selected for LoRA adapters"
        case .shapeMismatch(let n, let e, let f): return "adapter tensor \(n) has shape \(f), the model needs \(e)"
        case .missingTensor(let n): return "the adapter has no tensor \(n)"
        }
    }
}

extension LanguageModel {
    /// A projection by its role name (q, k, v, o, gate, up, down) or by this family's module
    /// name (q_proj, …, Llama's gate_proj, OPT's out_proj, fc1, fc2).
    public func projection(named raw: String) throws -> Projection {
        let name = raw.trimmingCharacters(in: .whitespaces)
        for p in projections where p.rawValue == name || PEFTAdapter.moduleLeaf(self, p) == name { return p }
        throw LoRAError.unknownTarget(name, architecture: architecture,
                                      known: projections.flatMap { [$0.rawValue, PEFTAdapter.moduleLeaf(self, $0)] })
    }

    /// Puts a fresh adapter (PEFT's initialisation: A Kaiming-uniform, B zero) on every target
    /// projection of every block; projections pruned to nothing (0 rows or columns) get none.
    public func attachAdapters(_ c: LoRAConfiguration, seed: UInt64) throws {
        guard c.rank >= 1 else { throw LoRAError.invalidRank(c.rank) }
        guard c.dropout >= 0 && c.dropout < 1 else { throw LoRAError.invalidDropout(c.dropout) }
        guard !c.targets.isEmpty else { throw LoRAError.noTargets }
        for p in c.targets where !projections.contains(p) { throw LoRAError.targetNotInModel(p, architecture: architecture) }
        var rng = SeededRNG(seed: seed)
        for i in 0..<layerCount {
            for p in projections where c.targets.contains(p) {
                var l = linear(p, layer: i)
                guard l.outFeatures > 0, l.inFeatures > 0 else { continue }
                l.adapter = LoRAAdapter(rank: c.rank, alpha: c.alpha, inFeatures: l.inFeatures, outFeatures: l.outFeatures,
                                        dropout: c.dropout, rng: &rng)
                setLinear(l, p, layer: i)
            }
        }
    }

    /// The adapters' tensors under their module names ("<module>.lora_A.weight" [rank × in],
    /// "<module>.lora_B.weight" [out × rank]), block by block in projection order.
    public var adapterParameters: [ParameterTensor] {
        var out: [ParameterTensor] = []
        var weightAxes: [String: [TensorAxis]]?      // built once, only when an adapter exists
        for i in 0..<layerCount {
            for p in projections {
                guard let a = linear(p, layer: i).adapter else { continue }
                if weightAxes == nil { weightAxes = Dictionary(parameters.map { ($0.name, $0.axes) }, uniquingKeysWith: { a, _ in a }) }
                let m = moduleName(p, layer: i)
                let axes = weightAxes?[m + ".weight"]
                let (inAxis, outAxis) = (axes?[1] ?? .hidden, axes?[0] ?? .hidden)
                out.append(ParameterTensor(name: m + LoRANames.a, shape: [a.rank, a.inFeatures],
                                           role: .adapter(p, layer: i), axes: [.adapterRank, inAxis]))
                out.append(ParameterTensor(name: m + LoRANames.b, shape: [a.outFeatures, a.rank],
                                           role: .adapter(p, layer: i), axes: [outAxis, .adapterRank]))
            }
        }
        return out
    }

    /// Reads or edits one adapter tensor in place by name (see `adapterParameters`).
    public func withAdapterParameter<R>(_ name: String, _ body: (inout [Float]) throws -> R) rethrows -> R {
        for i in 0..<layerCount {
            for p in projections {
                let m = moduleName(p, layer: i)
                guard name == m + LoRANames.a || name == m + LoRANames.b else { continue }
                var l = linear(p, layer: i)
                guard var a = l.adapter else { preconditionFailure("no adapter on '\(m)'") }
                let r = name.hasSuffix(LoRANames.a) ? try body(&a.a) : try body(&a.b)
                l.adapter = a
                setLinear(l, p, layer: i)
                return r
            }
        }
        preconditionFailure("no adapter tensor '\(name)'")
    }

    /// Reads or edits any trainable tensor by name: a model parameter or an adapter's.
    public func withTrainableParameter<R>(_ name: String, _ body: (inout [Float]) throws -> R) rethrows -> R {
        if name.hasSuffix(LoRANames.a) || name.hasSuffix(LoRANames.b) { return try withAdapterParameter(name, body) }
        return try withParameter(name, body)
    }

    /// Sets (training) or clears (inference) the dropout mask seed of every adapter; each
    /// adapter gets its own stream derived from `seed`.
    public func setAdapterDropoutSeed(_ seed: UInt64?) {
        var k: UInt64 = 0
        for i in 0..<layerCount {
            for p in projections {
                var l = linear(p, layer: i)
                guard l.adapter != nil else { continue }
                k += 1
                l.adapter!.dropoutSeed = seed.map { $0 &+ k &* 0x9E37_79B9_7F4A_7C15 }
                setLinear(l, p, layer: i)
            }
        }
    }

    /// Folds every adapter into its weight, keeping W's zeros (`LoRAAdapter.mergedWeight`), and
    /// removes the adapters. Returns how many weights the merge changed.
    @discardableResult
    public func mergeAdapters() -> Int {
        var changed = 0
        for i in 0..<layerCount {
            for p in projections {
                var l = linear(p, layer: i)
                guard let a = l.adapter else { continue }
                let merged = a.mergedWeight(l.weight)
                changed += zip(merged, l.weight).reduce(0) { $0 + ($1.0 != $1.1 ? 1 : 0) }
                l.weight = merged
                l.adapter = nil
                setLinear(l, p, layer: i)
            }
        }
        return changed
    }

    /// Takes every adapter off without merging it (the weights are as they were before
    /// `attachAdapters`).
    public func detachAdapters() {
        for i in 0..<layerCount {
            for p in projections {
                var l = linear(p, layer: i)
                guard l.adapter != nil else { continue }
                l.adapter = nil
                setLinear(l, p, layer: i)
            }
        }
    }

    /// Replaces the adapters with the tensors `tensor(name)` gives for each of them (e.g. read
    /// from a PEFT adapter file), after checking every shape.
    public func loadAdapters(_ c: LoRAConfiguration, tensor: (String) throws -> (shape: [Int], values: [Float])?) throws {
        try attachAdapters(c, seed: 0)
        for t in adapterParameters {
            guard let found = try tensor(t.name) else { throw LoRAError.missingTensor(t.name) }
            guard found.shape == t.shape else { throw LoRAError.shapeMismatch(name: t.name, expected: t.shape, found: found.shape) }
            withAdapterParameter(t.name) { $0 = found.values }
        }
    }
}
