import ArgumentParser
import Evaluation
import LLM
import Pruning

/// `--layers a-b` (inclusive) or a single layer `a`.
struct LayerRangeArgument: ExpressibleByArgument {
    let range: ClosedRange<Int>
    init?(argument: String) {
        guard let r = try? PruneConfiguration.parseLayers(argument) else { return nil }
        range = r
    }
    var defaultValueDescription: String { "\(range.lowerBound)-\(range.upperBound)" }
}

/// `--matrices q,k,v,o,gate,up,down`.
struct ProjectionListArgument: ExpressibleByArgument {
    let projections: [Projection]
    init?(argument: String) {
        guard let p = try? PruneConfiguration.parseMatrices(argument), !p.isEmpty else { return nil }
        projections = p
    }
    init(_ projections: [Projection]) { self.projections = projections }
    var defaultValueDescription: String { projections.map(\.rawValue).joined(separator: ",") }
}

/// `--tasks boolq,lambada_openai,…`; `all` is the zero-shot set.
struct TaskListArgument: ExpressibleByArgument {
    let tasks: [EvalTask]
    init?(argument: String) {
        guard let t = try? EvalTask.parseList(argument), !t.isEmpty else { return nil }
        tasks = t
    }
    init(_ tasks: [EvalTask]) { self.tasks = tasks }
    var defaultValueDescription: String { tasks == EvalTask.defaults ? "all" : tasks.map(\.name).joined(separator: ",") }
}
