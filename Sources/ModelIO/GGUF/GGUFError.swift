/// Everything that can be wrong with a GGUF file or a request against it.
/// Each description is one line saying what is wrong, where, and what to do.
public enum GGUFError: Error, CustomStringConvertible, Equatable {
    /// The first four bytes are not "GGUF".
    case badMagic(path: String, found: [UInt8])
    /// Version other than 2 or 3 (`bigEndian` when the byte-swapped value is a known version).
    case unsupportedVersion(path: String, version: UInt32, bigEndian: Bool)
    /// The file ends before `what` (at byte offset `offset`, needing `needed` bytes) is complete.
    case truncated(path: String, what: String, offset: Int, needed: Int, fileSize: Int)
    /// A count or length that cannot be right: it would need more bytes than the file has left.
    case absurdCount(path: String, what: String, count: UInt64, bytesLeft: Int)
    /// A metadata value type id that is not in the GGUF spec.
    case unknownValueType(path: String, key: String, typeID: UInt32)
    /// Arrays nested deeper than the reader accepts.
    case nestingTooDeep(path: String, key: String, depth: Int)
    case duplicateKey(path: String, key: String)
    case duplicateTensorName(path: String, name: String)
    /// A tensor type id that ggml does not define.
    case unknownTensorType(path: String, tensor: String, typeID: UInt32)
    /// A defined ggml type that this reader cannot decode.
    case unsupportedTensorType(tensor: String, type: GGMLType)
    /// Row length (ne0) not a multiple of the type's block size.
    case rowNotMultipleOfBlock(path: String, tensor: String, ne0: Int, type: GGMLType)
    /// Bad dimension count, negative or overflowing dimensions, misaligned offset.
    case invalidTensorInfo(path: String, tensor: String, reason: String)
    case invalidAlignment(path: String, value: String)
    /// A metadata key the model loader needs is absent.
    case missingMetadata(path: String, key: String)
    /// A metadata key has the wrong type or an impossible value.
    case badMetadata(path: String, key: String, reason: String)
    case unsupportedArchitecture(path: String, architecture: String, supported: [String])
    case tensorNotFound(path: String, name: String)
    case unsupportedModel(path: String, reason: String)
    case writeFailed(path: String, reason: String)

    public var description: String {
        switch self {
        case .badMagic(let path, let found):
            let hex = found.map { String($0, radix: 16, uppercase: true) }.joined(separator: " ")
            return "\(path) is not a GGUF file: magic bytes are [\(hex)], expected \"GGUF\" (47 47 55 46)"
        case .unsupportedVersion(let path, let v, let big):
            if big { return "\(path) is a big-endian GGUF file; only little-endian GGUF v2/v3 is supported — re-convert it on a little-endian machine" }
            if v == 1 { return "\(path) is GGUF v1 (32-bit counts), which is not supported; re-convert it with a current llama.cpp (v2 or v3)" }
            return "\(path) has GGUF version \(v); only versions 2 and 3 are supported"
        case .truncated(let path, let what, let offset, let needed, let size):
            return "\(path) is truncated: \(what) needs \(needed) bytes at offset \(offset) but the file has \(size) bytes; re-download or re-convert it"
        case .absurdCount(let path, let what, let count, let left):
            return "\(path) is truncated or corrupt: \(what) is \(count), more than the \(left) bytes left in the file could hold"
        case .unknownValueType(let path, let key, let id):
            return "\(path) is corrupt or too new: metadata key '\(key)' has unknown value type id \(id) (known: 0...12)"
        case .nestingTooDeep(let path, let key, let depth):
            return "\(path): metadata key '\(key)' nests arrays more than \(depth) levels deep; the file is corrupt"
        case .duplicateKey(let path, let key):
            return "\(path) is corrupt: metadata key '\(key)' appears more than once"
        case .duplicateTensorName(let path, let name):
            return "\(path) is corrupt: tensor name '\(name)' appears more than once"
        case .unknownTensorType(let path, let tensor, let id):
            return "\(path): tensor '\(tensor)' has unknown ggml type id \(id); the file is corrupt or needs a newer reader"
        case .unsupportedTensorType(let tensor, let type):
            return "tensor '\(tensor)' has type \(type.name), which cannot be decoded; supported: \(GGMLType.decodableNames) — re-quantize the model to one of these"
        case .rowNotMultipleOfBlock(let path, let tensor, let ne0, let type):
            return "\(path): tensor '\(tensor)' has row length \(ne0), not a multiple of the \(type.name) block size \(type.blockSize); the file is corrupt"
        case .writeFailed(let path, let reason):
            return "cannot write \(path): \(reason)"
        case .invalidTensorInfo(let path, let tensor, let reason):
            return "\(path): tensor '\(tensor)' is invalid: \(reason)"
        case .invalidAlignment(let path, let value):
            return "\(path): general.alignment is \(value); it must be a power of two (default 32)"
        case .missingMetadata(let path, let key):
            return "\(path) lacks metadata key '\(key)', which is needed to build the model config"
        case .badMetadata(let path, let key, let reason):
            return "\(path): metadata key '\(key)' \(reason)"
        case .unsupportedArchitecture(let path, let arch, let supported):
            return "\(path) has architecture '\(arch)', which is not supported; supported: \(supported.joined(separator: ", "))"
        case .tensorNotFound(let path, let name):
            return "\(path) has no tensor '\(name)'"
        case .unsupportedModel(let path, let reason):
            return "\(path): \(reason)"
        }
    }
}
