/// The Alpaca prompt template of Alpaca-LoRA, as LLM-Pruner's `Prompter("alpaca")`
/// (`LLMPruner/utils/prompter.py`) writes it.
public enum AlpacaPrompt {
    /// `prompt_input`, with `{instruction}` and `{input}` filled in.
    public static let withInputHeader =
        "Below is an instruction that describes a task, paired with an input that provides further context. Write a response that appropriately completes the request.\n\n### Instruction:\n"
    public static let inputHeader = "\n\n### Input:\n"
    /// `prompt_no_input`, with `{instruction}` filled in.
    public static let noInputHeader =
        "Below is an instruction that describes a task. Write a response that appropriately completes the request.\n\n### Instruction:\n"
    public static let responseHeader = "\n\n### Response:\n"

    /// `Prompter.generate_prompt(instruction, input, label)`: the input variant when `input`
    /// is non-empty (Python `if input:`), and the output appended when non-empty (`if label:`).
    /// Without an output this is the user prompt, whose tokens are masked when not training on
    /// inputs.
    public static func prompt(instruction: String, input: String?, output: String? = nil) -> String {
        var s: String
        if let input, !input.isEmpty {
            s = withInputHeader + instruction + inputHeader + input + responseHeader
        } else {
            s = noInputHeader + instruction + responseHeader
        }
        if let output, !output.isEmpty { s += output }
        return s
    }
}
