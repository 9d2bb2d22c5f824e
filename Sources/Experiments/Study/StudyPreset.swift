/// Built-in studies (`secateur study --preset NAME`), written as the YAML a user would write, so
/// `--preset NAME --print-config` gives a starting point to edit.
public enum StudyPreset: String, CaseIterable, Sendable {
    /// A small grid on SmolLM2-135M: dense, Wanda 50 % and 2:4, structured Taylor 30 %, with a
    /// short evaluation; the README's main command (about 10 minutes on 2 cores).
    case quick
    /// The motivating study's grid on SmolLM2-135M: Taylor, L1, L2 and random structured pruning
    /// at 30, 40 and 70 % in both ratio meanings (the whole model's parameters, and LLM-Pruner's
    /// per-layer share), with and without LoRA recovery, plus magnitude, Wanda, SparseGPT and RIA
    /// at 50 %, 2:4, 4:8 and 70 %.
    case seedStudy = "seed-study"

    public var yaml: String {
        switch self {
        case .quick:
            return """
            name: quick
            models: [smollm2-135m]
            pruning:
              - {method: wanda, sparsity: 0.5, nsamples: 16, seqlen: 512}
              - {method: wanda, pattern: "2:4", nsamples: 16, seqlen: 512}
              - {method: taylor, mode: block, ratio: 0.3, ratio_mode: model, calibration: bookcorpus}
            evaluation:
              perplexity:
                - {dataset: wikitext2, protocol: wanda, seqlen: 2048, windows: 8}
              tasks: [boolq, piqa, hellaswag, winogrande, arc_easy]
              limit: 50
              efficiency: {prompt_length: 128, decode_tokens: 32, repetitions: 3}

            """
        case .seedStudy:
            // The unstructured entries come first: they are the quicker cells, so a partial run
            // already covers every method. Structured pruning in block mode over every layer (attention and MLP), so that 70 %
            // of the whole model is reachable; Taylor calibrates on BookCorpus as LLM-Pruner does.
            // Unstructured calibration is 64 windows of 512 C4 tokens (a CPU budget; the papers use
            // 128 × 2048), LoRA recovery 50 steps of 2 × 256 C4 tokens (the motivating study trained
            // for hours; this shows the direction, not the ceiling).
            return """
            name: seed-study
            models: [smollm2-135m]
            pruning:
              - method: [magnitude, wanda, sparsegpt, ria]
                sparsity: [0.5, 0.7]
                nsamples: 64
                seqlen: 512
                recovery: [none]
              - method: [magnitude, wanda, sparsegpt, ria]
                pattern: ["2:4", "4:8"]
                nsamples: 64
                seqlen: 512
                recovery: [none]
              - method: [taylor, l1, l2]
                mode: block
                ratio: [0.3, 0.4, 0.7]
                ratio_mode: [model, layer]
                attn_layers: 0-29
                mlp_layers: 0-29
                calibration: bookcorpus
              - method: random
                structured: true
                mode: block
                ratio: [0.3, 0.4, 0.7]
                ratio_mode: [model, layer]
                attn_layers: 0-29
                mlp_layers: 0-29
            recovery:
              - none
              - {method: lora, rank: 8, alpha: 16, lr: 1e-4, steps: 50, batch_size: 2, data: c4, seqlen: 256}
            evaluation:
              perplexity:
                - {dataset: wikitext2, protocol: wanda, seqlen: 2048, windows: 16}
              tasks: [boolq, piqa, hellaswag, winogrande, arc_easy]
              limit: 200
              efficiency: {prompt_length: 128, decode_tokens: 32, repetitions: 3}

            """
        }
    }

    public var config: StudyConfig {
        get throws { try StudyConfig.parse(yaml, file: "preset \(rawValue)") }
    }
}
