import Foundation
import ModelIO

/// Where an exported model goes to run (DESIGN.md §9).
public enum ExportFormat: String, CaseIterable, Sendable, Codable {
    /// One GGUF file for llama.cpp (and Ollama, LM Studio): `llama`, `qwen2`, or `deci` for
    /// per-layer widths.
    case gguf
    /// A Hugging Face model directory for transformers.
    case hf
}

/// The element type of exported weight matrices. Norms and biases stay float32 in GGUF (as
/// llama.cpp's converter keeps 1-D tensors); the quantized types exist only in GGUF.
public enum ExportDType: String, CaseIterable, Sendable, Codable {
    case f32, f16, bf16, q8_0, q4_0

    public var ggmlType: GGMLType {
        switch self {
        case .f32: return .f32
        case .f16: return .f16
        case .bf16: return .bf16
        case .q8_0: return .q8_0
        case .q4_0: return .q4_0
        }
    }

    /// The safetensors dtype, or nil for block-quantized types.
    public var safetensorsDType: SafetensorsDType? {
        switch self {
        case .f32: return .f32
        case .f16: return .f16
        case .bf16: return .bf16
        case .q8_0, .q4_0: return nil
        }
    }

    /// transformers' `dtype` name.
    var torchName: String? {
        switch self {
        case .f32: return "float32"
        case .f16: return "float16"
        case .bf16: return "bfloat16"
        case .q8_0, .q4_0: return nil
        }
    }

    /// llama.cpp's `general.file_type` (llama_ftype) for a model mostly of this type.
    var llamaFileType: UInt32 {
        switch self {
        case .f32: return 0
        case .f16: return 1
        case .q4_0: return 2
        case .q8_0: return 7
        case .bf16: return 32
        }
    }
}

/// The tokenizer an export carries, and where it came from.
public struct ExportTokenizer {
    public var tokenizer: Tokenizer
    /// The source GGUF's `tokenizer.*` key/values, carried into a GGUF export verbatim.
    public var ggufMetadata: [(String, GGUFValue)]?
    /// A source model directory whose tokenizer files an HF export copies as they are.
    public var huggingFaceDirectory: URL?
    public var chatTemplate: String?

    public init(tokenizer: Tokenizer, ggufMetadata: [(String, GGUFValue)]? = nil,
                huggingFaceDirectory: URL? = nil, chatTemplate: String? = nil) {
        self.tokenizer = tokenizer; self.ggufMetadata = ggufMetadata
        self.huggingFaceDirectory = huggingFaceDirectory; self.chatTemplate = chatTemplate
    }
}

/// Why a model cannot be exported as asked.
public enum ExportError: Error, CustomStringConvertible, Equatable {
    /// The target builds every layer from one config and the model's layers differ.
    case nonUniformWidths(summary: String)
    case unsupportedArchitecture(String, format: ExportFormat, reason: String)
    case dtypeNotAvailable(ExportDType, format: ExportFormat)
    case unrepresentable(String)
    case writeFailed(path: String, reason: String)

    public var description: String {
        switch self {
        case .nonUniformWidths(let s):
            return "the model's layers have different widths (\(s)); a Hugging Face Llama/OPT config holds one width for every layer — pad the removed heads and channels with zeros to the widest layer (pad-uniform; same logits, no speed-up) or export GGUF (deci holds per-layer widths)"
        case .unsupportedArchitecture(let a, let f, let why):
            return "cannot export a '\(a)' model as \(f.rawValue): \(why)"
        case .dtypeNotAvailable(let d, let f):
            return "\(d.rawValue) is not available for \(f.rawValue) exports (use \(f == .hf ? "f32, f16 or bf16" : "f32, f16, bf16, q8_0 or q4_0"))"
        case .unrepresentable(let why):
            return "the model cannot be written in the target format: \(why)"
        case .writeFailed(let p, let why):
            return "cannot write \(p): \(why)"
        }
    }
}

/// A short text of per-layer widths, e.g. "heads 9,6,9 · ffn 1536,1075,1536".
func widthSummary(_ shapes: [BlockShape]) -> String {
    func list(_ v: [Int]) -> String {
        v.count <= 8 ? v.map(String.init).joined(separator: ",") : "\(v.min()!)…\(v.max()!)"
    }
    return "heads \(list(shapes.map(\.heads))) · kv heads \(list(shapes.map(\.kvHeads))) · ffn \(list(shapes.map(\.intermediateSize)))"
}
