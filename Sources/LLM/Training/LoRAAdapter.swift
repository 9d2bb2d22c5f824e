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
    /// from it (`keptBits`), so nothing is stored between the passes.
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

    /// Which elements of an input [rows × in] this step keeps, one bit each (bit i of word i/64).
    /// Elements 4j…4j+3 take the four 16-bit quarters of one 64-bit hash of (seed, j), low
    /// quarter first: each is kept when its quarter falls below round((1 − p)·2¹⁶), so the
    /// forward and the backward draw the same mask, one hash per four elements. The kept share
    /// is within 2⁻¹⁷ of 1 − p (p = 0.05 keeps 62259/65536 = 0.949997); the scale stays 1/(1 − p).
    func keptBits(rows: Int) -> [UInt64] {
        let n = rows * inFeatures, seed = dropoutSeed ?? 0
        let threshold = UInt64(min(65536, max(0, (Double(1 - dropout) * 65536).rounded())))
        var bits = [UInt64](repeating: 0, count: (n + 63) / 64)
        bits.withUnsafeMutableBufferPointer { bb in
            let words = bb.baseAddress!
            parallelFor(bb.count, minPerThread: 256) { w0, w1 in
                for w in w0..<w1 {
                    var word: UInt64 = 0
                    for quad in 0..<16 {
                        let h = Self.hash64(seed, w * 16 + quad)
                        // quarter − threshold wraps below zero exactly when the quarter is below it: the
                        // top bit is the kept bit (integer arithmetic; a SIMD select lowers lane by lane).
                        // Masking shifts (&>>, &<<): Swift's >> and << check the amount at run time.
                        let at = UInt64(4 * quad)
                        word |= (((h & 0xFFFF) &- threshold) &>> 63) &<< at
                        word |= (((h &>> 16 & 0xFFFF) &- threshold) &>> 63) &<< (at + 1)
                        word |= (((h &>> 32 & 0xFFFF) &- threshold) &>> 63) &<< (at + 2)
                        word |= (((h &>> 48) &- threshold) &>> 63) &<< (at + 3)
                    }
                    words[w] = word
                }
            }
            if n % 64 != 0 { words[bb.count - 1] &= (1 << UInt64(n % 64)) - 1 }
        }
        return bits
    }

    /// SplitMix64's output function on seed + i·φ.
    @inline(__always) static func hash64(_ seed: UInt64, _ i: Int) -> UInt64 {
        var z = seed &+ UInt64(i) &* 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// out[i] += v[i]·scale where bit i is set (add) or out[i] = that, else 0 (set); [count].
    /// Eight elements at a time: one byte of a word, shifted per lane, gives eight 0/1 factors
    /// (a multiply, not a select: Swift lowers SIMD masks lane by lane).
    static func applyMask(_ v: UnsafePointer<Float>, _ bits: [UInt64], scale: Float, count n: Int,
                          into out: UnsafeMutablePointer<Float>, add: Bool) {
        let shifts = SIMD8<Int32>(0, 1, 2, 3, 4, 5, 6, 7), one = SIMD8<Int32>(repeating: 1)
        let s = SIMD8<Float>(repeating: scale)
        bits.withUnsafeBufferPointer { bb in
            let words = bb.baseAddress!
            parallelFor(bb.count, minPerThread: 256) { w0, w1 in
                for w in w0..<w1 {
                    let word = words[w], base = w * 64
                    guard base + 64 <= n else {           // the last, partial word
                        for j in 0..<(n - base) {
                            let kept: Float = word >> UInt64(j) & 1 == 1 ? scale : 0
                            if add { out[base + j] += v[base + j] * kept } else { out[base + j] = v[base + j] * kept }
                        }
                        continue
                    }
                    for byte in 0..<8 {
                        let at = base + 8 * byte
                        let byteBits = SIMD8<Int32>(repeating: Int32(truncatingIfNeeded: word >> UInt64(8 * byte) & 0xFF))
                        let kept = SIMD8<Float>((byteBits &>> shifts) & one)
                        var y = UnsafeRawPointer(v + at).loadUnaligned(as: SIMD8<Float>.self) * s * kept
                        if add { y += UnsafeRawPointer(out + at).loadUnaligned(as: SIMD8<Float>.self) }
                        UnsafeMutableRawPointer(out + at).storeBytes(of: y, as: SIMD8<Float>.self)
                    }
                }
            }
        }
    }

    /// x ⊙ mask / (1 − p), [rows × in].
    func droppedInput(_ x: UnsafePointer<Float>, _ bits: [UInt64], rows: Int) -> [Float] {
        let n = rows * inFeatures
        return [Float](unsafeUninitializedCapacity: n) { out, count in
            Self.applyMask(x, bits, scale: 1 / (1 - dropout), count: n, into: out.baseAddress!, add: false)
            count = n
        }
    }

    /// y[rows × out] += scaling · x̃·Aᵀ·Bᵀ.
    func addForward(_ x: UnsafePointer<Float>, rows: Int, into y: UnsafeMutablePointer<Float>) {
        let xd = dropping ? droppedInput(x, keptBits(rows: rows), rows: rows) : nil
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
        let bits = dropping ? keptBits(rows: rows) : nil
        let xd = bits.map { droppedInput(x, $0, rows: rows) }
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
                            Self.applyMask(tb.baseAddress!, bits!, scale: 1 / (1 - dropout), count: rows * inFeatures, into: dX, add: true)
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
