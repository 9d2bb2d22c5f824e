import ArgumentParser
import Pruning

/// `prune --method`: one option for two vocabularies, the unstructured methods and (with
/// --structured) the structured criteria; `random` and `taylor` are both.
enum PruneMethodChoice: String, CaseIterable, ExpressibleByArgument {
    case magnitude, wanda, sparsegpt, ria, random, gradient, taylor, gblm, entropy, dsnot, es, l1, l2, bonsai, l0

    var unstructured: PruneMethod? { PruneMethod(rawValue: rawValue) }
    var structured: StructuredCriterion? { StructuredCriterion(rawValue: rawValue) }
}
