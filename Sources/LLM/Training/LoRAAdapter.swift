import Compute

/// A low-rank adapter on one linear layer (Hu et al. 2021, "LoRA: Low-Rank Adaptation of Large
/// Language Models", eq. 3), laid out as PEFT saves it:
///   y = x·Wᵀ + b + scaling · dropout(x)·Aᵀ·Bᵀ,   scaling = alpha / rank
///   A = lora_A.weight [rank × in],  B = lora_B.weight [out × rank]
/// PEFT initialises A Kaiming-uniform (a = √5, so U(±1/√in)) and B to zero, so an adapter
/// starts as the identity change. The base W stays frozen; merging adds the delta only where
/// W is non-zero (`mergedWeight`), so a pruned layer stays exactly as sparse as it was.
public struct LoRAAdapter: Sendable, Equatable {
    public let rank: Int
    public let alpha: Float
    public let inFeatures: Int
    public let outFeatures: Int
    public var a: [Float]            // [rank × in]
    public var b: [Float]            // [out × rank]
    /// Probability of dropping an input element (PEFT's lora_dropout), applied only while
    /// `dropoutSeed` is set (training); inference never drops.
    public var dropout: Float
    /// Fixes the dropout mask of the current step; the backward regenerates the same mask
    /// from it (element i kept iff a hash of (seed, i) ≥ p), so nothing is stored.
    public var dropoutSeed: UInt64?

    public var scaling: Float { alpha / Float(rank) }

    public init(rank: Int, alpha: Float, inFeatures: Int, outFeatures: Int, a: [Float], b: [Float], dropout: Float = 0) {
        precondition(rank > 0 && a.count == rank * inFeatures && b.count == outFeatures * rank, "LoRA shapes")
        self.rank = rank; self.alpha = alpha; self.inFeatures = inFeatures; self.outFeatures = outFeatures
        self.a = a; self.b = b; self.dropout = dropout
    }

    /// PEFT's initialisation: A ~ U(−1/√in, 1/√in) (kaiming_uniform_ with a = √5), B = 0.
    public init(rank: Int, alpha: Float, inFeatures: Int, outFeatures: Int, dropout: Float, rng: inout SeededRNG) {
        let bound = 1 / Float(inFeatures).squareRoot()
        let a = (0..<(rank * inFeatures)).map { _ in (2 * rng.nextFloat() - 1) * bound }
        self.init(rank: rank, alpha: alpha, inFeatures: inFeatures, outFeatures: outFeatures, a: a,
                  b: [Float](repeating: 0, count: outFeatures * rank), dropout: dropout)
    }

    var dropping: Bool { dropout > 0 && dropoutSeed != nil }

    /// This step's dropout multipliers for an input [rows × in]: 1/(1 − p) where the element
    /// is kept, 0 where dropped. Element i is kept when a hash of (seed, i) falls below
    /// (1 − p)·2³², so the forward and the backward draw the same mask without storing it.
    func dropoutScales(rows: Int) -> [Float] {
        let n = rows * inFeatures, keep = 1 - dropout, scale = 1 / keep, seed = dropoutSeed ?? 0
        let threshold = UInt64(Double(keep) * 4_294_967_296)
        var m = [Float](repeating: 0, count: n)
        m.withUnsafeMutableBufferPointer { mb in
            let p = mb.baseAddress!
            parallelFor(n, minPerThread: 16_384) { a, b in
                for i in a..<b where Self.hash32(seed, i) < threshold { p[i] = scale }
            }
        }
        return m
    }

    /// SplitMix64's output function on seed + i·φ, top 32 bits.
    @inline(__always) static func hash32(_ seed: UInt64, _ i: Int) -> UInt64 {
        var z = seed &+ UInt64(i) &* 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return (z ^ (z >> 31)) >> 32
    }

    /// x ⊙ scales, [rows × in].
    static func masked(_ x: UnsafePointer<Float>, _ scales: [Float]) -> [Float] {
        var out = [Float](repeating: 0, count: scales.count)
        out.withUnsafeMutableBufferPointer { ob in
            let o = ob.baseAddress!
            scales.withUnsafeBufferPointer { sb in
                let m = sb.baseAddress!
                parallelFor(scales.count, minPerThread: 16_384) { a, b in for i in a..<b { o[i] = x[i] * m[i] } }
            }
        }
        return out
    }

    /// y[rows × out] += scaling · x̃·Aᵀ·Bᵀ.
    func addForward(_ x: UnsafePointer<Float>, rows: Int, into y: UnsafeMutablePointer<Float>) {
        let xd = dropping ? Self.masked(x, dropoutScales(rows: rows)) : nil
        var u = [Float](repeating: 0, count: rows * rank)
        withInput(x, xd) { xi in
            a.withUnsafeBufferPointer { aw in
                u.withUnsafeMutableBufferPointer { ub in
                    BLAS.linear(xi, rows: rows, inFeatures: inFeatures, weight: aw.baseAddress!, outFeatures: rank,
                                into: ub.baseAddress!)
                    for j in 0..<(rows * rank) { ub[j] *= scaling }
                }
            }
        }
        u.withUnsafeBufferPointer { ub in
            b.withUnsafeBufferPointer { bw in
                BLAS.linear(ub.baseAddress!, rows: rows, inFeatures: rank, weight: bw.baseAddress!, outFeatures: outFeatures,
                            into: y, accumulate: true)
            }
        }
    }

    /// Backward of `addForward` for output gradient dY [rows × out]:
    ///   u = x̃·Aᵀ,  dB += scaling·dYᵀ·u,  du = dY·B,  dA += scaling·duᵀ·x̃,
    ///   dX += scaling·(du·A) ⊙ (dropout mask / (1 − p))
    /// dA and dB are skipped when nil (a frozen adapter still passes its share of dX on).
    func backward(outputGradient dY: UnsafePointer<Float>, input x: UnsafePointer<Float>, rows: Int,
                  inputGradient dX: UnsafeMutablePointer<Float>?,
                  aGradient dA: UnsafeMutablePointer<Float>?, bGradient dB: UnsafeMutablePointer<Float>?) {
        let scales = dropping ? dropoutScales(rows: rows) : nil
        let xd = scales.map { Self.masked(x, $0) }
        var u = [Float](repeating: 0, count: rows * rank), du = u
        a.withUnsafeBufferPointer { aw in
            b.withUnsafeBufferPointer { bw in
                u.withUnsafeMutableBufferPointer { ub in
                    du.withUnsafeMutableBufferPointer { dub in
                        let A = aw.baseAddress!, B = bw.baseAddress!, U = ub.baseAddress!, dU = dub.baseAddress!
                        withInput(x, xd) { xi in
                            if let dB {
                                BLAS.linear(xi, rows: rows, inFeatures: inFeatures, weight: A, outFeatures: rank, into: U)
                                BLAS.linearWeightGradient(dY, rows: rows, outFeatures: outFeatures, input: U, inFeatures: rank,
                                                          into: dB, alpha: scaling)
                            }
                            BLAS.linearInputGradient(dY, rows: rows, outFeatures: outFeatures, weight: B, inFeatures: rank,
                                                     into: dU, accumulate: false)
                            if let dA {
                                BLAS.linearWeightGradient(dU, rows: rows, outFeatures: rank, input: xi, inFeatures: inFeatures,
                                                          into: dA, alpha: scaling)
                            }
                        }
                        guard let dX else { return }
                        for j in 0..<(rows * rank) { dU[j] *= scaling }
                        if !dropping {
                            BLAS.linearInputGradient(dU, rows: rows, outFeatures: rank, weight: A, inFeatures: inFeatures,
                                                     into: dX, accumulate: true)
                            return
                        }
                        var t = [Float](repeating: 0, count: rows * inFeatures)
                        t.withUnsafeMutableBufferPointer { tb in
                            BLAS.linearInputGradient(dU, rows: rows, outFeatures: rank, weight: A, inFeatures: inFeatures,
                                                     into: tb.baseAddress!, accumulate: false)
                        }
                        t.withUnsafeBufferPointer { tb in
                            scales!.withUnsafeBufferPointer { sb in
                                let tp = tb.baseAddress!, m = sb.baseAddress!
                                parallelFor(rows * inFeatures, minPerThread: 16_384) { a, b in
                                    for i in a..<b { dX[i] += tp[i] * m[i] }
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    private func withInput(_ x: UnsafePointer<Float>, _ dropped: [Float]?, _ body: (UnsafePointer<Float>) -> Void) {
        guard let dropped else { return body(x) }
        dropped.withUnsafeBufferPointer { body($0.baseAddress!) }
    }

    /// The change to W, scaling·B·A [out × in].
    public var delta: [Float] {
        var d = [Float](repeating: 0, count: outFeatures * inFeatures)
        b.withUnsafeBufferPointer { bw in
            a.withUnsafeBufferPointer { aw in
                d.withUnsafeMutableBufferPointer { db in
                    BLAS.sgemm(m: outFeatures, n: inFeatures, k: rank, alpha: scaling, a: bw.baseAddress!, lda: rank,
                               b: aw.baseAddress!, ldb: inFeatures, beta: 0, c: db.baseAddress!, ldc: inFeatures)
                }
            }
        }
        return d
    }

    /// W + mask ⊙ scaling·B·A with mask = (W ≠ 0): a pruned weight stays exactly zero, so an
    /// N:M or unstructured pattern survives the merge (merging the plain delta densifies it).
    public func mergedWeight(_ weight: [Float]) -> [Float] {
        precondition(weight.count == outFeatures * inFeatures)
        let d = delta
        var w = weight
        for i in w.indices where w[i] != 0 { w[i] += d[i] }
        return w
    }
}
