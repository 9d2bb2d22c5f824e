/// Why a gradient computation was refused. Raised before any work is done, so an
/// accumulator passed in is left untouched.
public enum GradientError: Error, CustomStringConvertible, Equatable {
    /// The next-token loss needs at least one (input, target) pair.
    case tooFewTokens(count: Int)
    case tokenOutOfRange(position: Int, token: Int32, vocabSize: Int)
    /// The accumulator was made for a model of another shape (e.g. before structured pruning).
    case shapeMismatch(String)
    /// The family has no backward pass yet.
    case unsupportedArchitecture(String)
    case labelCount(labels: Int, tokens: Int)
    case labelOutOfRange(position: Int, label: Int32, vocabSize: Int)
    /// Distillation needs the teacher's next-token distribution over the same tokens.
    case teacherVocabulary(teacher: Int, student: Int)

    public var description: String {
        switch self {
        case .tooFewTokens(let n):
            return "a gradient window needs at least 2 tokens (the loss predicts token t+1 from tokens ≤ t); got \(n)"
        case .tokenOutOfRange(let p, let t, let v):
            return "token id \(t) at position \(p) is outside the vocabulary (0..<\(v)); were the windows tokenized with this model's tokenizer?"
        case .shapeMismatch(let what):
            return "gradient accumulator does not match the model: \(what); create it with ModelGradients(like: model) after the model's last change"
        case .unsupportedArchitecture(let a):
            return "gradients are not implemented for the \(a) architecture yet"
        case .labelCount(let l, let t):
            return "a training example has \(l) labels for \(t) tokens (one label per token expected)"
        case .labelOutOfRange(let p, let l, let v):
            return "label \(l) at position \(p) is outside the vocabulary (0..<\(v)) and is not the ignore label −100"
        case .teacherVocabulary(let t, let s):
            return "the teacher's vocabulary has \(t) tokens, the student's \(s): distillation needs the same tokenizer"
        }
    }
}

extension LanguageModel {
    /// The checks every family's `accumulateGradients` makes before any work.
    func checkGradientInputs(tokens: [Int32], objective: SequenceObjective, gradients: ModelGradients) throws {
        guard tokens.count >= 2 else { throw GradientError.tooFewTokens(count: tokens.count) }
        if let p = tokens.firstIndex(where: { $0 < 0 || Int($0) >= vocabSize }) {
            throw GradientError.tokenOutOfRange(position: p, token: tokens[p], vocabSize: vocabSize)
        }
        let labels = objective.labels
        guard labels.count == tokens.count else { throw GradientError.labelCount(labels: labels.count, tokens: tokens.count) }
        if let p = labels.firstIndex(where: { $0 != TrainingExample.ignored && ($0 < 0 || Int($0) >= vocabSize) }) {
            throw GradientError.labelOutOfRange(position: p, label: labels[p], vocabSize: vocabSize)
        }
        if let kd = objective.distillation, kd.teacher.vocabSize != vocabSize {
            throw GradientError.teacherVocabulary(teacher: kd.teacher.vocabSize, student: vocabSize)
        }
        if let why = gradients.mismatch(with: self) { throw GradientError.shapeMismatch(why) }
    }
}
