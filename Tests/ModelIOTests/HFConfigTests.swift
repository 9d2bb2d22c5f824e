import XCTest
import Foundation
@testable import ModelIO

final class HFConfigTests: XCTestCase {
    func parse(_ json: String) throws -> ModelConfig { try HFConfig.parse(Data(json.utf8), source: "test.json") }

    func assertConfigError(_ json: String, _ check: (HFConfigError) -> Bool, file: StaticString = #filePath, line: UInt = #line) {
        do {
            _ = try parse(json)
            XCTFail("expected an HFConfigError", file: file, line: line)
        } catch let e as HFConfigError {
            XCTAssertTrue(check(e), "unexpected error: \(e)", file: file, line: line)
            XCTAssertTrue(e.description.hasPrefix("test.json"), "\(e)", file: file, line: line)
        } catch {
            XCTFail("expected an HFConfigError, got \(error)", file: file, line: line)
        }
    }

    static let minimal = """
        "hidden_size": 64, "intermediate_size": 96, "num_attention_heads": 4,
        "num_hidden_layers": 3, "vocab_size": 100
        """

    // MARK: Fixtures

    func testTinyFixtureConfigs() throws {
        func load(_ name: String) throws -> ModelConfig { try HFConfig.load(path: Fixtures.tiny(name) + "/config.json") }
        XCTAssertEqual(try load("llama-gqa-untied"), ModelConfig(
            architecture: "llama", vocabSize: 48, hiddenSize: 32, headDim: 8, numHeads: [4, 4], numKVHeads: [2, 2],
            intermediateSizes: [40, 40], rmsNormEps: 1e-5, ropeTheta: 10000, ropeScaling: nil, tieWordEmbeddings: false,
            attentionBias: false, maxPositionEmbeddings: 128, bosTokenID: 1, eosTokenID: 2))
        XCTAssertEqual(try load("llama-gqa-tied"), ModelConfig(
            architecture: "llama", vocabSize: 48, hiddenSize: 32, headDim: 8, numHeads: [4, 4], numKVHeads: [2, 2],
            intermediateSizes: [40, 40], rmsNormEps: 1e-6, ropeTheta: 10000, ropeScaling: nil, tieWordEmbeddings: true,
            attentionBias: false, maxPositionEmbeddings: 128, bosTokenID: 1, eosTokenID: 2))
        XCTAssertEqual(try load("llama3-ropescaling"), ModelConfig(
            architecture: "llama", vocabSize: 48, hiddenSize: 32, headDim: 16, numHeads: [2, 2], numKVHeads: [1, 1],
            intermediateSizes: [40, 40], rmsNormEps: 1e-5, ropeTheta: 10000,
            ropeScaling: RopeScaling(type: "llama3", factor: 8, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositionEmbeddings: 64),
            tieWordEmbeddings: false, attentionBias: false, maxPositionEmbeddings: 512, bosTokenID: 1, eosTokenID: 2))
        XCTAssertEqual(try load("mistral"), ModelConfig(
            architecture: "mistral", vocabSize: 48, hiddenSize: 32, headDim: 16, numHeads: [4, 4], numKVHeads: [2, 2],
            intermediateSizes: [40, 40], rmsNormEps: 1e-5, ropeTheta: 1_000_000, ropeScaling: nil, tieWordEmbeddings: false,
            attentionBias: false, maxPositionEmbeddings: 256, bosTokenID: 1, eosTokenID: 2))
        XCTAssertEqual(try load("qwen2"), ModelConfig(
            architecture: "qwen2", vocabSize: 48, hiddenSize: 32, headDim: 8, numHeads: [4, 4], numKVHeads: [2, 2],
            intermediateSizes: [40, 40], rmsNormEps: 1e-6, ropeTheta: 1_000_000, ropeScaling: nil, tieWordEmbeddings: true,
            attentionBias: true, maxPositionEmbeddings: 256, bosTokenID: 46, eosTokenID: 47))
    }

    // MARK: Defaults and legacy forms

    func testDefaults() throws {
        let c = try parse("{\"architectures\": [\"LlamaForCausalLM\"], \(Self.minimal)}")
        XCTAssertEqual(c.architecture, "llama")
        XCTAssertEqual(c.numKVHeads, [4, 4, 4])
        XCTAssertEqual(c.headDim, 16)
        XCTAssertEqual(c.numHeads, [4, 4, 4])
        XCTAssertEqual(c.intermediateSizes, [96, 96, 96])
        XCTAssertEqual(c.ropeTheta, 10000)
        XCTAssertNil(c.ropeScaling)
        XCTAssertEqual(c.rmsNormEps, 1e-6)
        XCTAssertFalse(c.tieWordEmbeddings)
        XCTAssertFalse(c.attentionBias)
        XCTAssertEqual(c.maxPositionEmbeddings, 2048)
        XCTAssertNil(c.bosTokenID)
        XCTAssertNil(c.eosTokenID)

        let q = try parse("{\"model_type\": \"qwen2\", \"head_dim\": null, \"num_key_value_heads\": null, \(Self.minimal)}")
        XCTAssertEqual(q.architecture, "qwen2")
        XCTAssertTrue(q.attentionBias)
        XCTAssertEqual(q.maxPositionEmbeddings, 32768)
        XCTAssertEqual(q.headDim, 16)
        XCTAssertEqual(try parse("{\"model_type\": \"mistral\", \(Self.minimal)}").maxPositionEmbeddings, 131072)
    }

    func testLegacyRopeScalingAndTokenLists() throws {
        let c = try parse("""
            {"architectures": ["LlamaForCausalLM"], \(Self.minimal), "rope_theta": 500000.0,
             "rope_scaling": {"factor": 32.0, "high_freq_factor": 4.0, "low_freq_factor": 1.0,
                              "original_max_position_embeddings": 8192, "rope_type": "llama3"},
             "bos_token_id": 128000, "eos_token_id": [128001, 128008, 128009],
             "attention_bias": true, "tie_word_embeddings": true, "rms_norm_eps": 1e-05}
            """)
        XCTAssertEqual(c.ropeTheta, 500000)
        XCTAssertEqual(c.ropeScaling, RopeScaling(type: "llama3", factor: 32, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositionEmbeddings: 8192))
        XCTAssertEqual(c.bosTokenID, 128000)
        XCTAssertEqual(c.eosTokenID, 128001)
        XCTAssertTrue(c.attentionBias)
        XCTAssertTrue(c.tieWordEmbeddings)
        XCTAssertEqual(c.rmsNormEps, 1e-5)

        let linear = try parse("{\"model_type\": \"llama\", \(Self.minimal), \"rope_scaling\": {\"type\": \"linear\", \"factor\": 2}}")
        XCTAssertEqual(linear.ropeScaling?.type, "linear")
        XCTAssertEqual(linear.ropeScaling?.factor, 2)
        XCTAssertNil(try parse("{\"model_type\": \"llama\", \(Self.minimal), \"rope_scaling\": null}").ropeScaling)

        // transformers 5: rope_parameters holds theta and the scaling.
        let v5 = try parse("""
            {"model_type": "llama", \(Self.minimal),
             "rope_parameters": {"rope_type": "default", "rope_theta": 250000.0}}
            """)
        XCTAssertEqual(v5.ropeTheta, 250000)
        XCTAssertNil(v5.ropeScaling)
        // Mistral/Qwen2 configs do not use attention_bias; Mistral never has biases.
        XCTAssertFalse(try parse("{\"model_type\": \"mistral\", \"attention_bias\": true, \(Self.minimal)}").attentionBias)
    }

    func testPerLayerExtension() throws {
        let c = try parse("""
            {"model_type": "llama", \(Self.minimal), "num_key_value_heads": 2,
             "secateur_num_heads": [4, 2, 0], "secateur_num_kv_heads": [2, 1, 0],
             "secateur_intermediate_sizes": [96, 40, 8]}
            """)
        XCTAssertEqual(c.numHeads, [4, 2, 0])
        XCTAssertEqual(c.numKVHeads, [2, 1, 0])
        XCTAssertEqual(c.intermediateSizes, [96, 40, 8])
        XCTAssertEqual(c.headDim, 16)

        assertConfigError("{\"model_type\": \"llama\", \(Self.minimal), \"secateur_num_heads\": [4, 4]}") {
            if case .invalidValue(_, "secateur_num_heads", _) = $0 { return true } else { return false }
        }
        assertConfigError("{\"model_type\": \"llama\", \(Self.minimal), \"num_key_value_heads\": 2, \"secateur_num_heads\": [4, 3, 4]}") {
            if case .invalidValue(_, "secateur_num_heads", _) = $0 { return true } else { return false }
        }
    }

    func testInverseRoundTrip() throws {
        let configs = [
            try HFConfig.load(path: Fixtures.tiny("llama3-ropescaling") + "/config.json"),
            try HFConfig.load(path: Fixtures.tiny("qwen2") + "/config.json"),
            try HFConfig.load(path: Fixtures.tiny("mistral") + "/config.json"),
            ModelConfig(architecture: "llama", vocabSize: 300, hiddenSize: 64, headDim: 16, numHeads: [4, 2], numKVHeads: [2, 1],
                        intermediateSizes: [128, 50], rmsNormEps: 1e-5, ropeTheta: 500000,
                        ropeScaling: RopeScaling(type: "linear", factor: 4), tieWordEmbeddings: true, attentionBias: true,
                        maxPositionEmbeddings: 4096, bosTokenID: nil, eosTokenID: 7),
        ]
        for config in configs {
            let data = try HFConfig.encode(config)
            XCTAssertEqual(try HFConfig.parse(data), config)
        }
        let text = String(decoding: try HFConfig.encode(configs[3]), as: UTF8.self)
        XCTAssertTrue(text.contains("\"factor\": 4.0"), text)          // floats stay floats for transformers
        XCTAssertTrue(text.contains("\"rope_theta\": 500000.0"), text)
        XCTAssertTrue(text.contains("\"bos_token_id\": null"), text)
        XCTAssertTrue(text.contains("\"secateur_num_heads\": [4, 2]"), text)
        let pruned = hfConfigJSON(configs[3])
        XCTAssertEqual(pruned["num_attention_heads"] as? Int, 4)
        XCTAssertEqual(pruned["intermediate_size"] as? Int, 128)
        XCTAssertEqual(pruned["secateur_num_heads"] as? [Int], [4, 2])
        XCTAssertEqual(pruned["secateur_intermediate_sizes"] as? [Int], [128, 50])
        XCTAssertEqual(pruned["architectures"] as? [String], ["LlamaForCausalLM"])
        let uniform = hfConfigJSON(configs[1])
        XCTAssertNil(uniform["secateur_num_heads"])
        XCTAssertEqual(uniform["rms_norm_eps"] as? Double, 1e-6)

        let dir = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try HFConfig.write(configs[3], to: dir + "/config.json")
        XCTAssertEqual(try HFConfig.load(path: dir + "/config.json"), configs[3])
    }

    // MARK: Errors

    func testErrors() {
        assertConfigError("{\"architectures\": [\"GPT2LMHeadModel\"], \(Self.minimal)}") {
            guard case let .unsupportedArchitecture(_, name, supported) = $0 else { return false }
            return name == "GPT2LMHeadModel" && supported.contains("Qwen2ForCausalLM") && $0.description.contains("LlamaForCausalLM")
        }
        assertConfigError("{\"model_type\": \"phi3\", \(Self.minimal)}") {
            if case .unsupportedArchitecture(_, "phi3", _) = $0 { return true } else { return false }
        }
        assertConfigError("{\(Self.minimal)}") {
            if case .missingKey(_, "architectures") = $0 { return true } else { return false }
        }
        assertConfigError("{\"model_type\": \"llama\", \"hidden_size\": 64}") {
            if case .missingKey = $0 { return true } else { return false }
        }
        assertConfigError("{\"model_type\": \"llama\", \(Self.minimal), \"num_key_value_heads\": 3}") {
            if case .invalidValue(_, "num_key_value_heads", _) = $0 { return true } else { return false }
        }
        assertConfigError("{\"model_type\": \"llama\", \(Self.minimal), \"rope_scaling\": {\"rope_type\": \"yarn\", \"factor\": 4}}") {
            if case .unsupportedRopeScaling(_, "yarn", _) = $0 { return true } else { return false }
        }
        assertConfigError("{\"model_type\": \"llama\", \(Self.minimal), \"hidden_act\": \"gelu\"}") {
            if case .unsupportedFeature = $0 { return true } else { return false }
        }
        assertConfigError("{\"model_type\": \"llama\", \(Self.minimal), \"mlp_bias\": true}") {
            if case .unsupportedFeature = $0 { return true } else { return false }
        }
        assertConfigError("{\"model_type\": \"llama\", \"hidden_size\": \"64\", \"intermediate_size\": 96, \"num_attention_heads\": 4, \"num_hidden_layers\": 3, \"vocab_size\": 100}") {
            if case .invalidValue(_, "hidden_size", _) = $0 { return true } else { return false }
        }
        assertConfigError("{\"model_type\": \"llama\", \(Self.minimal), \"tie_word_embeddings\": 1}") {
            if case .invalidValue(_, "tie_word_embeddings", _) = $0 { return true } else { return false }
        }
        assertConfigError("{\"model_type\": \"llama\", \"hidden_size\": 2.5, \"intermediate_size\": 96, \"num_attention_heads\": 4, \"num_hidden_layers\": 3, \"vocab_size\": 100}") {
            if case .invalidValue = $0 { return true } else { return false }
        }
        assertConfigError("{not json") {
            if case .invalidJSON = $0 { return true } else { return false }
        }
        assertConfigError("[1]") {
            if case .invalidJSON = $0 { return true } else { return false }
        }
        XCTAssertThrowsError(try HFConfig.load(path: "/nonexistent/config.json")) {
            guard case HFConfigError.unreadable = $0 else { return XCTFail("\($0)") }
        }
    }
}
