/// The texts perplexity is measured on (DESIGN.md §2, §7); `PerplexityCorpus.text` reads each.
public enum PerplexityDataset: String, CaseIterable, Codable, Sendable {
    case wikitext2, ptb, c4
}
