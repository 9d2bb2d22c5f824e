import Foundation
import Compute

/// A safetensors file opened through a read-only memory map. The header is parsed and
/// fully validated on open, so later reads cannot run outside the file.
///
/// Layout: 8-byte little-endian header length N, N bytes of JSON header
/// (`{"name": {"dtype": "F32", "shape": [..], "data_offsets": [b, e]}, "__metadata__": {..}}`),
/// then the byte buffer that the offsets index.
public final class SafetensorsFile: @unchecked Sendable {
    public let path: String
    /// `__metadata__` string pairs (empty if absent).
    public let metadata: [String: String]
    /// Tensor entries by name.
    public let tensors: [String: SafetensorsTensorInfo]
    /// Tensor names in file (data offset) order.
    public let tensorNames: [String]

    private let file: MappedFile
    private let dataStart: Int

    /// Headers above this size are rejected as in the reference implementation.
    public static let maxHeaderLength: UInt64 = 100_000_000

    public init(path: String) throws {
        self.path = path
        let file = try MappedFile(path: path)
        self.file = file
        guard file.count >= 8 else { throw SafetensorsError.fileTooSmall(path: path, size: file.count) }
        let n = file.base.loadUnaligned(as: UInt64.self).littleEndian
        guard n <= UInt64(file.count - 8) else {
            throw SafetensorsError.headerLengthBeyondFile(path: path, headerLength: n, fileSize: file.count)
        }
        guard n <= Self.maxHeaderLength else {
            throw SafetensorsError.invalidHeaderJSON(path: path, reason: "header length \(n) exceeds the \(Self.maxHeaderLength)-byte limit")
        }
        let headerLength = Int(n)
        dataStart = 8 + headerLength
        let dataSize = file.count - dataStart
        let headerData = Data(file.bytes(at: 8, count: headerLength))

        let raw: RawHeader
        do {
            raw = try JSONDecoder().decode(RawHeader.self, from: headerData)
        } catch let e as SafetensorsHeaderEntryError {
            throw SafetensorsError.invalidTensorEntry(path: path, tensor: e.tensor, reason: e.reason)
        } catch let e as DecodingError {
            throw SafetensorsError.invalidHeaderJSON(path: path, reason: describe(e))
        } catch {
            throw SafetensorsError.invalidHeaderJSON(path: path, reason: "\(error)")
        }

        var infos: [String: SafetensorsTensorInfo] = [:]
        for (name, entry) in raw.entries {
            guard let dtype = SafetensorsDType(rawValue: entry.dtype) else {
                throw SafetensorsError.unsupportedDType(path: path, tensor: name, dtype: entry.dtype)
            }
            var count = 1
            for d in entry.shape {
                guard d >= 0 else {
                    throw SafetensorsError.invalidTensorEntry(path: path, tensor: name, reason: "negative dimension in shape \(entry.shape)")
                }
                let (p, overflow) = count.multipliedReportingOverflow(by: d)
                guard !overflow else {
                    throw SafetensorsError.invalidTensorEntry(path: path, tensor: name, reason: "shape \(entry.shape) is too large")
                }
                count = p
            }
            let (bytes, overflow) = count.multipliedReportingOverflow(by: dtype.byteSize)
            guard !overflow else {
                throw SafetensorsError.invalidTensorEntry(path: path, tensor: name, reason: "shape \(entry.shape) is too large")
            }
            guard entry.dataOffsets.count == 2 else {
                throw SafetensorsError.invalidTensorEntry(path: path, tensor: name, reason: "data_offsets must be [begin, end], got \(entry.dataOffsets)")
            }
            let b = entry.dataOffsets[0], e = entry.dataOffsets[1]
            guard b >= 0, e >= b, e <= dataSize else {
                throw SafetensorsError.offsetsOutOfRange(path: path, tensor: name, begin: b, end: e, dataSize: dataSize)
            }
            guard e - b == bytes else {
                throw SafetensorsError.sizeMismatch(path: path, tensor: name, dtype: dtype.rawValue, shape: entry.shape,
                                                    expectedBytes: bytes, actualBytes: e - b)
            }
            infos[name] = SafetensorsTensorInfo(name: name, dtype: dtype, shape: entry.shape, dataOffsets: b..<e)
        }
        let ordered = infos.values.sorted {
            ($0.dataOffsets.lowerBound, $0.dataOffsets.upperBound, $0.name) < ($1.dataOffsets.lowerBound, $1.dataOffsets.upperBound, $1.name)
        }
        // Empty tensors occupy no bytes and cannot overlap anything.
        var previous: SafetensorsTensorInfo? = nil
        for info in ordered where !info.dataOffsets.isEmpty {
            if let p = previous, info.dataOffsets.lowerBound < p.dataOffsets.upperBound {
                throw SafetensorsError.offsetsOverlap(path: path, tensor: p.name, other: info.name)
            }
            previous = info
        }
        tensors = infos
        tensorNames = ordered.map(\.name)
        metadata = raw.metadata
    }

    public func info(_ name: String) -> SafetensorsTensorInfo? { tensors[name] }

    public func shape(of name: String) -> [Int]? { tensors[name]?.shape }

    private func entry(_ name: String) throws -> SafetensorsTensorInfo {
        guard let info = tensors[name] else { throw SafetensorsError.tensorNotFound(path: path, tensor: name) }
        return info
    }

    /// The tensor's bytes as stored (little-endian), valid while this object lives.
    public func rawBytes(_ name: String) throws -> UnsafeRawBufferPointer {
        let info = try entry(name)
        return file.bytes(at: dataStart + info.dataOffsets.lowerBound, count: info.byteCount)
    }

    /// Decodes a tensor to float32, row-major in its stored shape. F32/F16/BF16/F64 and the
    /// integer and bool types are converted; FP8 and complex types throw `notDecodable`.
    public func loadFloat32(_ name: String) throws -> [Float] {
        let info = try entry(name)
        guard info.dtype.isDecodableAsFloat else {
            throw SafetensorsError.notDecodable(path: path, tensor: name, dtype: info.dtype.rawValue, wanted: "float32")
        }
        let n = info.elementCount
        if n == 0 { return [] }
        let src = file.base + dataStart + info.dataOffsets.lowerBound
        defer { file.releasePages(at: dataStart + info.dataOffsets.lowerBound, count: info.byteCount) }
        return [Float](unsafeUninitializedCapacity: n) { out, initialized in
            let dst = out.baseAddress!
            switch info.dtype {
            case .f32:
                UnsafeMutableRawPointer(dst).copyMemory(from: src, byteCount: n * 4)
            case .f16:
                for i in 0..<n { dst[i] = floatFromFloat16Bits((src + 2 * i).loadUnaligned(as: UInt16.self)) }
            case .bf16:
                for i in 0..<n { dst[i] = floatFromBFloat16Bits((src + 2 * i).loadUnaligned(as: UInt16.self)) }
            case .f64:
                for i in 0..<n { dst[i] = Float(src.loadUnaligned(fromByteOffset: 8 * i, as: Double.self)) }
            case .bool, .u8:
                for i in 0..<n { dst[i] = Float(src.load(fromByteOffset: i, as: UInt8.self)) }
            case .i8:
                for i in 0..<n { dst[i] = Float(src.load(fromByteOffset: i, as: Int8.self)) }
            case .i16:
                for i in 0..<n { dst[i] = Float(src.loadUnaligned(fromByteOffset: 2 * i, as: Int16.self)) }
            case .u16:
                for i in 0..<n { dst[i] = Float(src.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)) }
            case .i32:
                for i in 0..<n { dst[i] = Float(src.loadUnaligned(fromByteOffset: 4 * i, as: Int32.self)) }
            case .u32:
                for i in 0..<n { dst[i] = Float(src.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self)) }
            case .i64:
                for i in 0..<n { dst[i] = Float(src.loadUnaligned(fromByteOffset: 8 * i, as: Int64.self)) }
            case .u64:
                for i in 0..<n { dst[i] = Float(src.loadUnaligned(fromByteOffset: 8 * i, as: UInt64.self)) }
            case .f8e5m2, .f8e4m3, .f8e8m0, .c64:
                break // excluded above
            }
            initialized = n
        }
    }

    /// Decodes a tensor as a `Tensor` in its stored shape.
    public func loadTensor(_ name: String) throws -> Tensor {
        let info = try entry(name)
        return Tensor(shape: info.shape, data: try loadFloat32(name))
    }

    /// Decodes an integer or bool tensor (token ids, masks) to Int. U64 values above
    /// Int.max throw `notDecodable`.
    public func loadInts(_ name: String) throws -> [Int] {
        let info = try entry(name)
        guard info.dtype.isInteger else {
            throw SafetensorsError.notDecodable(path: path, tensor: name, dtype: info.dtype.rawValue, wanted: "integers")
        }
        let n = info.elementCount
        let src = file.base + dataStart + info.dataOffsets.lowerBound
        var out = [Int](repeating: 0, count: n)
        for i in 0..<n {
            switch info.dtype {
            case .bool, .u8: out[i] = Int(src.load(fromByteOffset: i, as: UInt8.self))
            case .i8: out[i] = Int(src.load(fromByteOffset: i, as: Int8.self))
            case .i16: out[i] = Int(src.loadUnaligned(fromByteOffset: 2 * i, as: Int16.self))
            case .u16: out[i] = Int(src.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))
            case .i32: out[i] = Int(src.loadUnaligned(fromByteOffset: 4 * i, as: Int32.self))
            case .u32: out[i] = Int(src.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self))
            case .i64: out[i] = Int(src.loadUnaligned(fromByteOffset: 8 * i, as: Int64.self))
            case .u64:
                let v = src.loadUnaligned(fromByteOffset: 8 * i, as: UInt64.self)
                guard v <= UInt64(Int.max) else {
                    throw SafetensorsError.notDecodable(path: path, tensor: name, dtype: info.dtype.rawValue, wanted: "Int (value too large)")
                }
                out[i] = Int(v)
            default: break
            }
        }
        return out
    }
}

// MARK: - Header decoding

private struct SafetensorsHeaderEntryError: Error {
    var tensor: String
    var reason: String
}

private struct AnyKey: CodingKey {
    var stringValue: String
    var intValue: Int? { nil }
    init(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { return nil }
}

private struct RawEntry: Decodable {
    var dtype: String
    var shape: [Int]
    var dataOffsets: [Int]

    enum CodingKeys: String, CodingKey {
        case dtype, shape
        case dataOffsets = "data_offsets"
    }
}

private struct RawHeader: Decodable {
    var metadata: [String: String] = [:]
    var entries: [(String, RawEntry)] = []

    init(from decoder: Swift.Decoder) throws {
        let c = try decoder.container(keyedBy: AnyKey.self)
        for key in c.allKeys {
            if key.stringValue == "__metadata__" {
                do {
                    metadata = try c.decodeIfPresent([String: String].self, forKey: key) ?? [:]
                } catch let e as DecodingError {
                    throw SafetensorsHeaderEntryError(tensor: "__metadata__", reason: "must map strings to strings (\(describe(e)))")
                }
            } else {
                do {
                    entries.append((key.stringValue, try c.decode(RawEntry.self, forKey: key)))
                } catch let e as DecodingError {
                    throw SafetensorsHeaderEntryError(tensor: key.stringValue, reason: describe(e))
                }
            }
        }
    }
}

/// A one-line summary of a DecodingError (Foundation's descriptions are multi-line dumps).
func describe(_ error: DecodingError) -> String {
    func path(_ c: [CodingKey]) -> String {
        c.isEmpty ? "top level" : c.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".")
    }
    switch error {
    case let .typeMismatch(type, ctx):
        return "\(path(ctx.codingPath)): expected \(type)"
    case let .valueNotFound(type, ctx):
        return "\(path(ctx.codingPath)): missing \(type) value"
    case let .keyNotFound(key, ctx):
        return "\(path(ctx.codingPath + [key])): missing key '\(key.stringValue)'"
    case let .dataCorrupted(ctx):
        var s = "\(path(ctx.codingPath)): \(ctx.debugDescription)"
        if let u = ctx.underlyingError { s += " (\((u as NSError).localizedDescription))" }
        return s.replacingOccurrences(of: "\n", with: " ")
    @unknown default:
        return "\(error)".replacingOccurrences(of: "\n", with: " ")
    }
}
