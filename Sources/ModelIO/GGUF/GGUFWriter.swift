import Compute
import Foundation

/// Writes GGUF v3 files (little-endian): header, metadata key/values, tensor infos, then the
/// tensor data, each tensor aligned to `general.alignment` (32). Tensor types: those
/// `GGMLQuantize` encodes.
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

    /// Adds a row-major tensor of HF shape [d0, d1, …] (stored reversed, as ggml's ne),
    /// encoded as `type` (F32, F16, BF16, Q8_0, Q4_0; see `GGMLQuantize`).
    public mutating func addTensor(_ name: String, shape: [Int], values: [Float], as type: GGMLType = .f32) throws {
        guard shape.reduce(1, *) == values.count, let rowLength = shape.last, rowLength > 0 else {
            throw GGUFError.invalidTensorInfo(path: name, tensor: name, reason: "shape \(shape) does not match \(values.count) values")
        }
        let data: Data
        do {
            data = try GGMLQuantize.encode(values, rowLength: rowLength, as: type)
        } catch let e as GGMLQuantizeError {
            throw GGUFError.invalidTensorInfo(path: name, tensor: name, reason: e.description)
        }
        tensors.append(PendingTensor(name: name, dims: Array(shape.reversed()), type: type, data: data))
    }

    /// The whole file in memory (tests; `write(to:)` streams instead).
    public func encoded() -> Data {
        var out = header()
        for t in tensors { out.append(t.data); out.append(Data(count: padding(t.data.count))) }
        return out
    }

    private func padding(_ n: Int) -> Int { (alignment - n % alignment) % alignment }

    /// Everything before the tensor data: header, metadata, tensor infos, padding.
    private func header() -> Data {
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
        out.append(Data(count: padding(out.count)))
        return out
    }

    /// Writes atomically (`AtomicFileWriter`: a temporary sibling, synced, then renamed over
    /// `path`; stale temporaries of killed writes are swept first).
    public func write(to path: String) throws {
        do {
            let w = try AtomicFileWriter(path: path)
            try header().withUnsafeBytes { try w.write($0) }
            for t in tensors {
                try t.data.withUnsafeBytes { try w.write($0) }
                try w.write([UInt8](repeating: 0, count: padding(t.data.count)))
            }
            try w.commit()
        } catch SafetensorsError.writeFailed(_, let reason) {
            throw GGUFError.writeFailed(path: path, reason: reason)
        }
    }
}
