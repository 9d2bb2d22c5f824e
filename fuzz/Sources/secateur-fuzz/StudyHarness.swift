import Experiments
import Foundation

/// Study YAML: parsed, then its grid expanded into cells, each labelled and keyed (what
/// `secateur study` does before it runs anything).
enum StudyHarness {
    static func run(_ input: Data) {
        let text = String(decoding: input, as: UTF8.self)
        guard let config = Refusal.attempt("StudyConfig.parse", { try StudyConfig.parse(text, file: "study.yaml") }) else { return }
        for cell in config.cells.prefix(64) {
            _ = cell.label
            _ = try? cell.key(modelSHA256: "0")
        }
        _ = config.defaultReportDirectory
    }
}
