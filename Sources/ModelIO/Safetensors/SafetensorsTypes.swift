/// Element types of the safetensors format (https://github.com/huggingface/safetensors).
/// Raw values are the strings used in the JSON header.
public enum SafetensorsDType: String, Sendable, CaseIterable, Equatable {
    case bool = "BOOL"
    case u8 = "U8", i8 = "I8"
    case f8e5m2 = "F8_E5M2", f8e4m3 = "F8_E4M3", f8e8m0 = "F8_E8M0"
    case i16 = "I16", u16 = "U16"
    case f16 = "F16", bf16 = "BF16"
    case i32 = "I32", u32 = "U32"
    case f32 = "F32"
    case c64 = "C64"
    case f64 = "F64"
    case i64 = "I64", u64 = "U64"

    /// Bytes per element.
    public var byteSize: Int {
        switch self {
        case .bool, .u8, .i8, .f8e5m2, .f8e4m3, .f8e8m0: return 1
        case .i16, .u16, .f16, .bf16: return 2
        case .i32, .u32, .f32: return 4
        case .c64, .f64, .i64, .u64: return 8
        }
    }

    /// Position in the reference implementation's dtype ordering (its `Dtype` enum
    /// declaration order); the reference writer lays out tensors by descending rank.
    var referenceRank: Int {
        switch self {
        case .bool: return 0
        case .u8: return 4
        case .i8: return 5
        case .f8e5m2: return 6
        case .f8e4m3: return 7
        case .f8e8m0: return 8
        case .i16: return 9
        case .u16: return 10
        case .f16: return 11
        case .bf16: return 12
        case .i32: return 13
        case .u32: return 14
        case .f32: return 15
        case .c64: return 16
        case .f64: return 17
        case .i64: return 18
        case .u64: return 19
        }
    }

    /// Types `SafetensorsFile.loadFloat32` converts to float32.
    public var isDecodableAsFloat: Bool {
        switch self {
        case .f8e5m2, .f8e4m3, .f8e8m0, .c64: return false
        default: return true
        }
    }

    /// Types `SafetensorsFile.loadInts` converts to Int.
    public var isInteger: Bool {
        switch self {
        case .bool, .u8, .i8, .i16, .u16, .i32, .u32, .i64, .u64: return true
        default: return false
        }
    }
}

/// One tensor entry of a safetensors header. `dataOffsets` are relative to the start of
/// the byte buffer (which follows the 8-byte length and the header).
public struct SafetensorsTensorInfo: Sendable, Equatable {
    public var name: String
    public var dtype: SafetensorsDType
    public var shape: [Int]
    public var dataOffsets: Range<Int>

    public var elementCount: Int { shape.reduce(1, *) }
    public var byteCount: Int { dataOffsets.count }
}

/// Everything that can go wrong reading or writing safetensors. Each description is one
/// line naming the file (and tensor) and what to do about it.
public enum SafetensorsError: Error, CustomStringConvertible, Equatable {
    case fileTooSmall(path: String, size: Int)
    case headerLengthBeyondFile(path: String, headerLength: UInt64, fileSize: Int)
    case invalidHeaderJSON(path: String, reason: String)
    case invalidTensorEntry(path: String, tensor: String, reason: String)
    case unsupportedDType(path: String, tensor: String, dtype: String)
    case offsetsOutOfRange(path: String, tensor: String, begin: Int, end: Int, dataSize: Int)
    case offsetsOverlap(path: String, tensor: String, other: String)
    case sizeMismatch(path: String, tensor: String, dtype: String, shape: [Int], expectedBytes: Int, actualBytes: Int)
    case tensorNotFound(path: String, tensor: String)
    case notDecodable(path: String, tensor: String, dtype: String, wanted: String)
    case invalidTensor(tensor: String, reason: String)
    case writeFailed(path: String, reason: String)

    public var description: String {
        switch self {
        case let .fileTooSmall(path, size):
            return "\(path): not a safetensors file: \(size) bytes, but the format needs at least an 8-byte header length (truncated download?)"
        case let .headerLengthBeyondFile(path, n, size):
            return "\(path): safetensors header length \(n) runs past the end of the \(size)-byte file (truncated or not a safetensors file)"
        case let .invalidHeaderJSON(path, reason):
            return "\(path): safetensors header is not valid JSON: \(reason)"
        case let .invalidTensorEntry(path, tensor, reason):
            return "\(path): safetensors header entry '\(tensor)' is malformed: \(reason)"
        case let .unsupportedDType(path, tensor, dtype):
            return "\(path): tensor '\(tensor)' has unsupported dtype '\(dtype)' (supported: \(SafetensorsDType.allCases.map(\.rawValue).joined(separator: ", ")))"
        case let .offsetsOutOfRange(path, tensor, b, e, size):
            return "\(path): tensor '\(tensor)' data_offsets [\(b), \(e)] lie outside the \(size)-byte data section (file truncated?)"
        case let .offsetsOverlap(path, tensor, other):
            return "\(path): tensors '\(tensor)' and '\(other)' have overlapping data_offsets (corrupt header)"
        case let .sizeMismatch(path, tensor, dtype, shape, expected, actual):
            return "\(path): tensor '\(tensor)' (\(dtype) \(shape)) needs \(expected) bytes but its data_offsets span \(actual) (corrupt header)"
        case let .tensorNotFound(path, tensor):
            return "\(path): no tensor named '\(tensor)'"
        case let .notDecodable(path, tensor, dtype, wanted):
            return "\(path): tensor '\(tensor)' has dtype \(dtype), which cannot be decoded as \(wanted)"
        case let .invalidTensor(tensor, reason):
            return "cannot write tensor '\(tensor)': \(reason)"
        case let .writeFailed(path, reason):
            return "cannot write \(path): \(reason)"
        }
    }
}
