import Compute
import Foundation

/// Writes GGUF v3 files (little-endian): header, metadata key/values, tensor infos, then the
/// tensor data, each tensor aligned to `general.alignment` (32). Float32 and float16 tensors.
/// Layout per llama.cpp's gguf.md: magic "GGUF", u32 version, u64 tensor count, u64 kv count;
/// strings are u64 length + UTF-8 bytes; arrays are u32 element type + u64 count + elements;
/// a tensor info is name, u32 n_dims, u64 dims (ne0 first), u32 ggml type, u64 offset
/// relative to the aligned start of the data section.
public struct GGUFWriter {
    public struct PendingTensor {
        let name: String
        let dims: [Int]         // ggml order, ne0 (fastest) first
        let type: GGMLType
        let data: Data
    }

    public private(set) var metadata: [(String, GGUFValue)] = []
    public private(set) var tensors: [PendingTensor] = []
    public let alignment = 32

    public init() {}

    public mutating func add(_ key: String, _ value: GGUFValue) {
        metadata.removeAll { $0.0 == key }
        metadata.append((key, value))
    }

    /// Adds a row-major tensor of HF shape [d0, d1, …] (stored reversed, as ggml's ne).
    public mutating func addTensor(_ name: String, shape: [Int], values: [Float], as type: GGMLType = .f32) throws {
        guard shape.reduce(1, *) == values.count else {
            throw GGUFError.invalidTensorInfo(path: name, tensor: name, reason: "shape \(shape) does not match \(values.count) values")
        }
        var d = Data()
        switch type {
        case .f32:
            values.withUnsafeBytes { d.append(contentsOf: $0) }
        case .f16:
            let bits = values.map { float16Bits($0) }
            bits.withUnsafeBytes { d.append(contentsOf: $0) }
        default:
            throw GGUFError.unsupportedTensorType(tensor: name, type: type)
        }
        tensors.append(PendingTensor(name: name, dims: Array(shape.reversed()), type: type, data: d))
    }

    public func encoded() -> Data {
        var out = Data()
        func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { out.append(contentsOf: $0) } }
        func u64(_ v: UInt64) { withUnsafeBytes(of: v.littleEndian) { out.append(contentsOf: $0) } }
        func str(_ s: String) { let b = Array(s.utf8); u64(UInt64(b.count)); out.append(contentsOf: b) }
        func value(_ v: GGUFValue) {
            switch v {
            case .uint8(let x): out.append(x)
            case .int8(let x): out.append(UInt8(bitPattern: x))
            case .uint16(let x): withUnsafeBytes(of: x.littleEndian) { out.append(contentsOf: $0) }
            case .int16(let x): withUnsafeBytes(of: x.littleEndian) { out.append(contentsOf: $0) }
            case .uint32(let x): u32(x)
            case .int32(let x): u32(UInt32(bitPattern: x))
            case .uint64(let x): u64(x)
            case .int64(let x): u64(UInt64(bitPattern: x))
            case .float32(let x): u32(x.bitPattern)
            case .float64(let x): u64(x.bitPattern)
            case .bool(let x): out.append(x ? 1 : 0)
            case .string(let s): str(s)
            case .array(let t, let items):
                u32(t.rawValue); u64(UInt64(items.count))
                for item in items { value(item) }
            }
        }
        out.append(contentsOf: Array("GGUF".utf8))
        u32(3)
        u64(UInt64(tensors.count))
        u64(UInt64(metadata.count + (metadata.contains { $0.0 == "general.alignment" } ? 0 : 1)))
        if !metadata.contains(where: { $0.0 == "general.alignment" }) {
            str("general.alignment"); u32(GGUFValueType.uint32.rawValue); u32(UInt32(alignment))
        }
        for (k, v) in metadata { str(k); u32(v.type.rawValue); value(v) }
        var offset = 0
        for t in tensors {
            str(t.name); u32(UInt32(t.dims.count))
            for d in t.dims { u64(UInt64(d)) }
            u32(t.type.rawValue); u64(UInt64(offset))
            offset += (t.data.count + alignment - 1) / alignment * alignment
        }
        func pad() { while out.count % alignment != 0 { out.append(0) } }
        pad()
        for t in tensors { out.append(t.data); pad() }
        return out
    }

    /// Writes atomically: a temp file in the same directory, then rename.
    public func write(to path: String) throws {
        let url = URL(fileURLWithPath: path)
        let tmp = url.deletingLastPathComponent().appendingPathComponent(".\(url.lastPathComponent).tmp-\(getpid())")
        do {
            try encoded().write(to: tmp)
            if FileManager.default.fileExists(atPath: path) { try FileManager.default.removeItem(atPath: path) }
            try FileManager.default.moveItem(at: tmp, to: url)
        } catch {
            try? FileManager.default.removeItem(at: tmp)
            throw GGUFError.writeFailed(path: path, reason: error.localizedDescription)
        }
    }
}
