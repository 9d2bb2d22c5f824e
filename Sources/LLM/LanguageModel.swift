/// The model interface the layers above LLM/ program against (DESIGN.md §3–4): embed →
/// layers → head, a parameter registry, observable linear inputs. Being turned into a
/// protocol that every architecture family implements; until then it names the Llama model.
public typealias LanguageModel = LlamaModel
