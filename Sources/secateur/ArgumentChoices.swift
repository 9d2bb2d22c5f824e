import ArgumentParser
import Evaluation
import Experiments
import LLM
import Pruning

// The libraries' vocabularies as command-line values: ArgumentParser rejects any other value
// with the allowed ones listed. (Libraries do not depend on ArgumentParser, so the
// conformances live here.)
extension PruneMethod: ExpressibleByArgument {}
extension DSnoTSkip: ExpressibleByArgument {}
extension ComparisonGroup: ExpressibleByArgument {}
extension PruneOrder: ExpressibleByArgument {}
extension TieBreak: ExpressibleByArgument {}
extension SparsityAllocation: ExpressibleByArgument {}
extension CalibrationDataset: ExpressibleByArgument {}
extension PerplexityDataset: ExpressibleByArgument {}
extension PerplexityProtocol: ExpressibleByArgument {}
extension PerplexityPass: ExpressibleByArgument {}
extension StructuredMode: ExpressibleByArgument {}
extension RatioMode: ExpressibleByArgument {}
extension TaylorOrder: ExpressibleByArgument {}
extension GroupAggregation: ExpressibleByArgument {}
extension LayerScore: ExpressibleByArgument {}
extension SparseFormat: ExpressibleByArgument {}
extension LlamaShape: ExpressibleByArgument {}

/// "unstructured" or N:M — not a closed set of names, so parsed rather than listed.
extension SparsityPattern: ExpressibleByArgument {
    public init?(argument: String) { try? self.init(parsing: argument) }
    public var defaultValueDescription: String { description }
}

extension WeightEncoding {
    /// Parses `--weights` with a one-line refusal (ArgumentParser lists more than a few
    /// choices over several lines).
    static func parseArgument(_ s: String) throws -> WeightEncoding {
        guard let w = WeightEncoding(rawValue: s) else {
            throw ValidationError("'\(s)' is not an encoding; use one of \(allCases.map(\.rawValue).joined(separator: ", "))")
        }
        return w
    }
}

/// `--memory-budget 12G`: a size in bytes with an optional K/M/G/T suffix (powers of 1024).
struct MemoryAmount: ExpressibleByArgument {
    let bytes: Int
    init?(argument: String) {
        guard let b = MemorySize.parse(argument) else { return nil }
        bytes = b
    }
    var defaultValueDescription: String { MemorySize.describe(bytes) }
}
