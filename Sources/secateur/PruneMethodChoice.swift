import ArgumentParser
import Pruning

/// `prune --method`: one option for two vocabularies, the unstructured methods and (with
/// --structured) the structured criteria; `random` is both.
enum PruneMethodChoice: String, CaseIterable, ExpressibleByArgument {
    case magnitude, wanda, sparsegpt, ria, random, l1, l2, taylor

    var unstructured: PruneMethod? { PruneMethod(rawValue: rawValue) }
    var structured: StructuredCriterion? { StructuredCriterion(rawValue: rawValue) }
}
