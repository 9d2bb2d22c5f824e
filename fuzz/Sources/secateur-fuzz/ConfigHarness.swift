import Foundation
import LLM
import ModelIO

/// config.json: parsed as the Llama family (HFConfig) and, when it says OPT, as OPT; an
/// accepted config gets the shape of the model it describes built (parameter registry and
/// counts), which is what `secateur info` and the memory plan do before reading weights.
enum ConfigHarness {
    static func run(_ input: Data) {
        if let config = Refusal.attempt("HFConfig.parse", { try HFConfig.parse(input) }) {
            let shape = ModelShape(config: config, storedBytesPerValue: 2)
            _ = shape.parameterCount
            _ = shape.largestBlockParameterCount
            _ = try? HFConfig.encode(config)
        }
        if let json = (try? JSONSerialization.jsonObject(with: input)) as? [String: Any], OPTConfig.describes(json) {
            let path = Scratch.write(input, HFCheckpoint.configFileName, in: Scratch.directory())
            if let config = Refusal.attempt("OPTConfig.load", { try OPTConfig.load(path: path) }) {
                let shape = ModelShape(config: config, storedBytesPerValue: 2)
                _ = shape.parameterCount
                _ = shape.largestBlockParameterCount
            }
        }
    }
}
