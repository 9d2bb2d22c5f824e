import XCTest
@testable import Pruning
import Compute
import LLM
import ModelIO

/// Issue 17, done-means 1 (the tested part): the (1+1)-ES mask search keeps the pruned count of every
/// comparison group and of every N:M block exact after every generation, the same seed gives the same
/// mask, its fitness (the layer's reconstruction error) never rises, and it improves a poor start.
final class EvolutionaryMaskSearchTests: XCTestCase {
    /// A layer: W [rows × cols], calibration inputs X [tokens × cols] whose columns have very unequal
    /// scales (so |W| alone is a poor guide), H = 2XᵀX/n as `HessianAccumulator` keeps it, the column
    /// norms Wanda uses.
    struct Layer {
        let rows: Int, cols: Int, tokens: Int
        var weight: [Float]
        var x: [Float]
        var hessian: [Float]
        var scaler: [Float]

        init(rows: Int, cols: Int, tokens: Int = 96, seed: UInt64 = 7) {
            self.rows = rows; self.cols = cols; self.tokens = tokens
            var rng = SeededRNG(seed: seed)
            weight = (0..<(rows * cols)).map { _ in rng.nextGaussian() }
            let scale = (0..<cols).map { _ in Float(Foundation.exp(Double(rng.nextGaussian()) * 1.2)) }
            x = (0..<(tokens * cols)).map { i in rng.nextGaussian() * scale[i % cols] }
            let acc = HessianAccumulator(cols: cols)
            acc.add(x, rows: tokens)
            hessian = acc.hessian
            let norms = ActivationNorms(columns: cols)
            x.withUnsafeBufferPointer { norms.add($0.baseAddress!, rows: tokens) }
            scaler = norms.scaler
        }

        var wanda: [Float] { ImportanceScore.wanda(weight, rows: rows, cols: cols, scaler: scaler) }
        var magnitude: [Float] { ImportanceScore.magnitude(weight) }

        /// 2/n·‖(Ŵ − W)·Xᵀ‖², straight from X (not from H): what the search's fitness stands for.
        func directError(_ mask: [Bool]) -> Double {
            var total = 0.0
            for t in 0..<tokens {
                for r in 0..<rows {
                    var d = 0.0
                    for j in 0..<cols where mask[r * cols + j] { d -= Double(weight[r * cols + j]) * Double(x[t * cols + j]) }
                    total += d * d
                }
            }
            return 2 * total / 1   // one sample of `tokens` rows: H = 2·XᵀX / 1
        }
    }

    func settings(generations: Int, seed: UInt64 = 1) -> EvolutionarySearchSettings {
        var s = EvolutionarySearchSettings()
        s.generations = generations; s.seed = seed; s.flipRate = 0.05; s.rateDecay = 0.98; s.rateFloor = 0.01
        return s
    }

    func pruned(_ mask: [Bool], row r: Int, columns: some Sequence<Int>, cols: Int) -> Int {
        columns.reduce(0) { $0 + (mask[r * cols + $1] ? 1 : 0) }
    }

    // MARK: exact counts

    func testUnstructuredRowCountsStayExactAfterEveryGeneration() throws {
        let l = Layer(rows: 12, cols: 40)
        for sparsity in [0.5, 0.3, 0.8] {
            var mask = MaskSelection.perRow(scores: l.magnitude, rows: l.rows, cols: l.cols, sparsity: sparsity)
            let expected = MaskSelection.pruneCount(l.cols, sparsity: sparsity)
            var checked = 0
            let out = try EvolutionaryMaskSearch.search(
                mask: &mask, dense: l.weight, rows: l.rows, cols: l.cols, hessian: l.hessian, scores: l.magnitude,
                groups: .rows, settings: settings(generations: 60)) { gen, m, _ in
                    checked += 1
                    for r in 0..<l.rows {
                        XCTAssertEqual(self.pruned(m, row: r, columns: 0..<l.cols, cols: l.cols), expected, "sparsity \(sparsity) generation \(gen) row \(r)")
                    }
                }
            XCTAssertEqual(checked, 60)
            XCTAssertGreaterThan(out.changedWeights, 0, "sparsity \(sparsity): the search never moved")
        }
    }

    func testNOfMBlocksStayExactAfterEveryGenerationWithAndWithoutPermutation() throws {
        let l = Layer(rows: 10, cols: 32)
        let s = l.wanda
        for (n, m) in [(2, 4), (1, 4), (4, 8)] {
            let perm = try ChannelPermutation.compute(scores: s, rows: l.rows, cols: l.cols, n: n, m: m)
            XCTAssertNotEqual(perm, Array(0..<l.cols), "the permutation should matter in this test")
            for permutation in [nil, perm] {
                var mask = try permutation.map { ChannelPermutation.mask(scores: s, rows: l.rows, cols: l.cols, n: n, m: m, permutation: $0) }
                    ?? MaskSelection.nOfM(scores: s, rows: l.rows, cols: l.cols, n: n, m: m)
                let order = permutation ?? Array(0..<l.cols)
                let out = try EvolutionaryMaskSearch.search(
                    mask: &mask, dense: l.weight, rows: l.rows, cols: l.cols, hessian: l.hessian, scores: s,
                    groups: .nOfM(n: n, m: m, permutation: permutation), settings: settings(generations: 40)) { gen, mk, _ in
                        for r in 0..<l.rows {
                            for b in 0..<(l.cols / m) {
                                XCTAssertEqual(self.pruned(mk, row: r, columns: order[(b * m)..<((b + 1) * m)], cols: l.cols), n,
                                               "\(n):\(m) permuted \(permutation != nil) generation \(gen) row \(r) block \(b)")
                            }
                        }
                    }
                XCTAssertGreaterThan(out.changedWeights, 0, "\(n):\(m): the search never moved")
            }
        }
    }

    /// Weights that are already 0 are never flipped: the matrix's zero count stays the initial mask's.
    func testZerosInTheCheckpointKeepTheZeroCount() throws {
        var l = Layer(rows: 8, cols: 16)
        for i in stride(from: 0, to: l.weight.count, by: 3) { l.weight[i] = 0 }
        for groups in [MaskGroups.rows, .nOfM(n: 2, m: 4, permutation: nil)] {
            var mask = groups == .rows ? MaskSelection.perRow(scores: l.wanda, rows: l.rows, cols: l.cols, sparsity: 0.5)
                                       : try MaskSelection.nOfM(scores: l.wanda, rows: l.rows, cols: l.cols, n: 2, m: 4)
            func zeros(_ m: [Bool]) -> Int { m.indices.reduce(0) { $0 + (m[$1] || l.weight[$1] == 0 ? 1 : 0) } }
            let before = zeros(mask)
            _ = try EvolutionaryMaskSearch.search(mask: &mask, dense: l.weight, rows: l.rows, cols: l.cols, hessian: l.hessian,
                                                  scores: l.wanda, groups: groups, settings: settings(generations: 50)) { gen, m, _ in
                XCTAssertEqual(zeros(m), before, "\(groups) generation \(gen)")
            }
        }
    }

    // MARK: determinism

    func testSameSeedSameMaskOtherSeedOtherMask() throws {
        let l = Layer(rows: 16, cols: 48)
        func run(_ seed: UInt64, _ groups: MaskGroups) throws -> [Bool] {
            var mask = groups == .rows ? MaskSelection.perRow(scores: l.magnitude, rows: l.rows, cols: l.cols, sparsity: 0.5)
                                       : try MaskSelection.nOfM(scores: l.magnitude, rows: l.rows, cols: l.cols, n: 2, m: 4)
            _ = try EvolutionaryMaskSearch.search(mask: &mask, dense: l.weight, rows: l.rows, cols: l.cols, hessian: l.hessian,
                                                  scores: l.magnitude, groups: groups, settings: settings(generations: 30, seed: seed))
            return mask
        }
        for groups in [MaskGroups.rows, .nOfM(n: 2, m: 4, permutation: nil)] {
            XCTAssertEqual(try run(3, groups), try run(3, groups))
            XCTAssertNotEqual(try run(3, groups), try run(4, groups))
        }
        // And not with the thread count: each row has its own stream.
        let two = try run(5, .rows)
        let saved = Parallelism.threads
        Parallelism.setThreads(1); defer { Parallelism.setThreads(saved) }
        XCTAssertEqual(try run(5, .rows), two)
    }

    func testZeroGenerationsLeaveTheMask() throws {
        let l = Layer(rows: 6, cols: 16)
        let start = MaskSelection.perRow(scores: l.wanda, rows: l.rows, cols: l.cols, sparsity: 0.5)
        var mask = start
        let out = try EvolutionaryMaskSearch.search(mask: &mask, dense: l.weight, rows: l.rows, cols: l.cols, hessian: l.hessian,
                                                    scores: l.wanda, groups: .rows, settings: settings(generations: 0))
        XCTAssertEqual(mask, start)
        XCTAssertEqual(out.initialError, out.finalError)
        XCTAssertEqual(out.changedWeights, 0)
    }

    // MARK: fitness

    /// The fitness is the reconstruction error 2/n·‖(Ŵ − W)Xᵀ‖² computed from X itself, and it never
    /// rises from one generation to the next.
    func testFitnessIsTheReconstructionErrorAndNeverRises() throws {
        let l = Layer(rows: 10, cols: 24, tokens: 40)
        var mask = MaskSelection.perRow(scores: l.magnitude, rows: l.rows, cols: l.cols, sparsity: 0.5)
        let direct = l.directError(mask)
        XCTAssertEqual(EvolutionaryMaskSearch.reconstructionError(mask: mask, dense: l.weight, rows: l.rows, cols: l.cols,
                                                                  hessian: l.hessian), direct, accuracy: direct * 1e-4)
        var previous = Double.infinity, errors: [Double] = []
        let out = try EvolutionaryMaskSearch.search(mask: &mask, dense: l.weight, rows: l.rows, cols: l.cols, hessian: l.hessian,
                                                    scores: l.magnitude, groups: .rows, settings: settings(generations: 80)) { gen, m, e in
            XCTAssertLessThanOrEqual(e, previous * (1 + 1e-9), "generation \(gen)")
            XCTAssertEqual(e, l.directError(m), accuracy: max(1e-6, e * 1e-4), "generation \(gen): the running error drifted")
            previous = e; errors.append(e)
        }
        XCTAssertEqual(out.initialError, direct, accuracy: direct * 1e-4)
        XCTAssertEqual(out.finalError, l.directError(mask), accuracy: direct * 1e-4)
        XCTAssertLessThan(out.finalError, out.initialError)
        XCTAssertGreaterThan(out.acceptedChildren, 0)
    }

    /// From magnitude (blind to the inputs' very unequal column scales) the search lowers the layer's
    /// error a lot at the same per-row count; from Wanda's mask (which sees them) it still lowers it.
    func testSearchImprovesAPoorStart() throws {
        let l = Layer(rows: 16, cols: 64, tokens: 128)
        var mask = MaskSelection.perRow(scores: l.magnitude, rows: l.rows, cols: l.cols, sparsity: 0.5)
        let wandaError = l.directError(MaskSelection.perRow(scores: l.wanda, rows: l.rows, cols: l.cols, sparsity: 0.5))
        var s = settings(generations: 400)
        s.flipRate = 0.03; s.rateDecay = 0.99; s.rateFloor = 0.005
        let out = try EvolutionaryMaskSearch.search(mask: &mask, dense: l.weight, rows: l.rows, cols: l.cols, hessian: l.hessian,
                                                    scores: l.magnitude, groups: .rows, settings: s)
        // Measured 836,662 → 57,319 (Wanda's mask: 17,815): a local search of swaps, it does not reach Wanda.
        XCTAssertLessThan(out.finalError, 0.2 * out.initialError, "magnitude \(out.initialError) → \(out.finalError)")
        // From Wanda's own mask it still finds a lower error.
        var wmask = MaskSelection.perRow(scores: l.wanda, rows: l.rows, cols: l.cols, sparsity: 0.5)
        let fromWanda = try EvolutionaryMaskSearch.search(mask: &wmask, dense: l.weight, rows: l.rows, cols: l.cols, hessian: l.hessian,
                                                          scores: l.wanda, groups: .rows, settings: s)
        XCTAssertEqual(fromWanda.initialError, wandaError, accuracy: wandaError * 1e-4)
        XCTAssertLessThan(fromWanda.finalError, 0.95 * wandaError)   // measured 17,815 → 16,009
    }

    /// With held-out windows a child must not be worse on them either: their error never rises, and fewer
    /// children are kept than without them.
    func testHeldOutWindowsGuardTheSearch() throws {
        let l = Layer(rows: 12, cols: 32, tokens: 48, seed: 7)
        let other = Layer(rows: 12, cols: 32, tokens: 48, seed: 8)   // same shape, other inputs
        let start = MaskSelection.perRow(scores: l.wanda, rows: l.rows, cols: l.cols, sparsity: 0.5)
        var guarded = start, free = start
        var previous = Double.infinity
        let withHeldOut = try EvolutionaryMaskSearch.search(
            mask: &guarded, dense: l.weight, rows: l.rows, cols: l.cols, hessian: l.hessian, heldOutHessian: other.hessian,
            scores: l.wanda, groups: .rows, settings: settings(generations: 80)) { gen, m, _ in
                let e = EvolutionaryMaskSearch.reconstructionError(mask: m, dense: l.weight, rows: l.rows, cols: l.cols, hessian: other.hessian)
                XCTAssertLessThanOrEqual(e, previous * (1 + 1e-9), "generation \(gen)")
                previous = e
            }
        let without = try EvolutionaryMaskSearch.search(mask: &free, dense: l.weight, rows: l.rows, cols: l.cols, hessian: l.hessian,
                                                         scores: l.wanda, groups: .rows, settings: settings(generations: 80))
        XCTAssertNil(without.finalHeldOutError)
        let a = try XCTUnwrap(withHeldOut.initialHeldOutError), b = try XCTUnwrap(withHeldOut.finalHeldOutError)
        XCTAssertLessThan(b, a)
        XCTAssertLessThan(withHeldOut.acceptedChildren, without.acceptedChildren)
        XCTAssertLessThan(withHeldOut.finalError, withHeldOut.initialError)
    }

    /// A SparseGPT-style start: kept weights hold updated values, a regrown weight its dense value.
    func testValuesOfKeptWeightsAreUsed() throws {
        let l = Layer(rows: 4, cols: 8, tokens: 20)
        let mask = MaskSelection.perRow(scores: l.wanda, rows: l.rows, cols: l.cols, sparsity: 0.5)
        var values = l.weight
        for i in values.indices where !mask[i] { values[i] *= 1.5 }
        // Δ = 0.5·W on the kept, −W on the pruned.
        var delta = [Double](repeating: 0, count: l.weight.count)
        for i in delta.indices { delta[i] = mask[i] ? -Double(l.weight[i]) : 0.5 * Double(l.weight[i]) }
        var expected = 0.0
        for r in 0..<l.rows { for a in 0..<l.cols { for b in 0..<l.cols {
            expected += delta[r * l.cols + a] * Double(l.hessian[a * l.cols + b]) * delta[r * l.cols + b]
        } } }
        let e = EvolutionaryMaskSearch.reconstructionError(mask: mask, dense: l.weight, values: values, rows: l.rows, cols: l.cols,
                                                           hessian: l.hessian)
        XCTAssertEqual(e, expected, accuracy: abs(expected) * 1e-4)
    }

    // MARK: refusals

    func testRefusals() throws {
        let l = Layer(rows: 4, cols: 8)
        var mask = MaskSelection.perRow(scores: l.wanda, rows: l.rows, cols: l.cols, sparsity: 0.5)
        func refused(_ s: EvolutionarySearchSettings, groups: MaskGroups = .rows, mask m: [Bool]? = nil) -> EvolutionarySearchError? {
            var mk = m ?? mask
            do {
                _ = try EvolutionaryMaskSearch.search(mask: &mk, dense: l.weight, rows: l.rows, cols: l.cols, hessian: l.hessian,
                                                      scores: l.wanda, groups: groups, settings: s)
                return nil
            } catch let e as EvolutionarySearchError { return e } catch { XCTFail("\(error)"); return nil }
        }
        var s = settings(generations: -1)
        XCTAssertEqual(refused(s), .negativeGenerations(-1))
        XCTAssertTrue("\(refused(s)!)".contains("generations ≥ 0"))
        s = settings(generations: 3); s.flipRate = 0
        XCTAssertEqual(refused(s), .flipRates(initial: 0, floor: s.rateFloor))
        s = settings(generations: 3); s.rateFloor = 0.5
        XCTAssertEqual(refused(s), .flipRates(initial: s.flipRate, floor: 0.5))
        s = settings(generations: 3); s.rateDecay = 1.5
        XCTAssertEqual(refused(s), .rateDecay(1.5))
        for bad in [PruneMethod.dsnot, .es, .gradient, .taylor, .gblm] {
            s = settings(generations: 3); s.initial = bad
            XCTAssertEqual(refused(s), .initialMethod(bad))
        }
        // An unstructured mask is not 2:4 in every block.
        var unstructured = [Bool](repeating: false, count: l.rows * l.cols)
        for j in 0..<4 { unstructured[j] = true }
        XCTAssertEqual(refused(settings(generations: 1), groups: .nOfM(n: 2, m: 4, permutation: nil), mask: unstructured),
                       .initialMaskNotNOfM(row: 0, block: 0, pruned: 4, n: 2, m: 4))
        XCTAssertNotNil(refused(settings(generations: 1), groups: .nOfM(n: 2, m: 3, permutation: nil)))
        XCTAssertNotNil(refused(settings(generations: 1), groups: .nOfM(n: 2, m: 4, permutation: [0, 0, 1, 2, 3, 4, 5, 6])))
        mask.removeLast()
        XCTAssertNotNil(refused(settings(generations: 1)))
        // Through the pruner's configuration.
        var c = PruneConfiguration(method: .es, sparsity: 0.5)
        c.es.generations = -2
        XCTAssertThrowsError(try c.validate(layerCount: 2)) { XCTAssertEqual($0 as? EvolutionarySearchError, .negativeGenerations(-2)) }
        c = PruneConfiguration(method: .es, pattern: .nOfM(n: 2, m: 4), sparsity: 0.5); c.permute = true; c.es.initial = .sparsegpt
        XCTAssertThrowsError(try c.validate(layerCount: 2))
        c = PruneConfiguration(method: .es, sparsity: 0.5, group: .global)
        XCTAssertThrowsError(try c.validate(layerCount: 2))
    }

    // MARK: through the layer-wise pruner

    static let tiny = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/tiny/llama-gqa-untied").path
    let calibration: [[Int32]] = (0..<4).map { s in (0..<16).map { Int32((s * 7 + $0 * 13) % 48) } }

    func model() throws -> LlamaModel { try LlamaModel(checkpoint: try HFCheckpoint(directory: Self.tiny)) }

    func testPrunerStartsFromTheInitialMaskAndKeepsEveryBlockExact() throws {
        for (initial, permute) in [(PruneMethod.wanda, false), (.ria, true), (.sparsegpt, false), (.magnitude, false)] {
            let base = try model()
            var start = PruneConfiguration(method: initial, pattern: .nOfM(n: 2, m: 4), sparsity: 0.5)
            start.permute = permute
            _ = try LayerwisePruner(model: base, configuration: start).run(calibration: calibration)

            var c = PruneConfiguration(method: .es, pattern: .nOfM(n: 2, m: 4), sparsity: 0.5)
            c.permute = permute; c.es.initial = initial; c.es.generations = 0
            c.es.heldOutShare = 0   // a SparseGPT start then sees every window, as plain SparseGPT
            let same = try model()
            let r0 = try LayerwisePruner(model: same, configuration: c).run(calibration: calibration)
            XCTAssertEqual(r0.evolutionarySearch?.changedWeights, 0)
            for (i, layer) in same.layers.enumerated() {
                for p in Projection.allCases { XCTAssertEqual(layer[p].weight, base.layers[i][p].weight, "\(initial) layer \(i) \(p): 0 generations") }
            }

            c.es.generations = 30; c.es.flipRate = 0.05; c.es.heldOutShare = 0.25
            let searched = try model()
            let r = try LayerwisePruner(model: searched, configuration: c).run(calibration: calibration)
            let summary = try XCTUnwrap(r.evolutionarySearch)
            XCTAssertEqual(summary.matrices, 2 * Projection.allCases.count)
            XCTAssertEqual(summary.generations, 30)
            XCTAssertGreaterThan(summary.changedWeights, 0, "\(initial)")
            XCTAssertLessThanOrEqual(summary.finalError, summary.initialError * (1 + 1e-6), "\(initial)")
            XCTAssertLessThanOrEqual(try XCTUnwrap(summary.finalHeldOutError), try XCTUnwrap(summary.initialHeldOutError) * (1 + 1e-6), "\(initial)")
            XCTAssertEqual(r.prunableZeros, r0.prunableZeros, "\(initial): the zero count moved")
            if !permute {
                for layer in searched.layers {
                    for p in Projection.allCases {
                        let lin = layer[p]
                        for r in 0..<lin.outFeatures {
                            for b in stride(from: 0, to: lin.inFeatures, by: 4) {
                                XCTAssertEqual((b..<(b + 4)).filter { lin.weight[r * lin.inFeatures + $0] == 0 }.count, 2, "\(initial) \(p) row \(r) block \(b)")
                            }
                        }
                    }
                }
            }
        }
    }

    func testPrunerUnstructuredRowCountsAndSeed() throws {
        var c = PruneConfiguration(method: .es, sparsity: 0.6)
        c.es.generations = 20; c.es.flipRate = 0.05; c.es.seed = 9
        let a = try model(), b = try model()
        _ = try LayerwisePruner(model: a, configuration: c).run(calibration: calibration)
        _ = try LayerwisePruner(model: b, configuration: c).run(calibration: calibration)
        for (i, layer) in a.layers.enumerated() {
            for p in Projection.allCases {
                let lin = layer[p]
                XCTAssertEqual(lin.weight, b.layers[i][p].weight, "same seed, layer \(i) \(p)")
                for r in 0..<lin.outFeatures {
                    XCTAssertEqual(lin.weight[(r * lin.inFeatures)..<((r + 1) * lin.inFeatures)].filter { $0 == 0 }.count,
                                   MaskSelection.pruneCount(lin.inFeatures, sparsity: 0.6), "layer \(i) \(p) row \(r)")
                }
            }
        }
    }
}
