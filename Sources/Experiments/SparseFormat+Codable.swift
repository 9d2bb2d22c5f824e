import LLM

/// Recorded by its name ("auto", "csr", ...), as the command line spells it.
extension SparseFormat: Codable {}
