import Foundation
import Compute

/// Collects named float32 tensors and writes them as one safetensors file, laid out like
/// the reference writer: tensors ordered by dtype (wider first, F32 before BF16 before F16)
/// then by name, JSON header padded with spaces to a multiple of 8 bytes. Writes are
/// atomic (temporary file + rename).
public struct SafetensorsWriter {
    private struct Entry {
        var shape: [Int]
        var data: [Float]
        var dtype: SafetensorsDType
    }

    /// `__metadata__` pairs; transformers expects `"format": "pt"`.
    public var metadata: [String: String]
    private var entries: [String: Entry] = [:]

    public init(metadata: [String: String] = [:]) {
        self.metadata = metadata
    }

    public var tensorNames: [String] { entries.keys.sorted() }

    /// Adds a tensor stored as `dtype` (F32, F16 or BF16; F16/BF16 round to nearest even).
    public mutating func add(_ name: String, shape: [Int], data: [Float], as dtype: SafetensorsDType = .f32) throws {
        guard !name.isEmpty, name != "__metadata__" else {
            throw SafetensorsError.invalidTensor(tensor: name, reason: "reserved or empty name")
        }
        guard entries[name] == nil else {
            throw SafetensorsError.invalidTensor(tensor: name, reason: "added twice")
        }
        guard [.f32, .f16, .bf16].contains(dtype) else {
            throw SafetensorsError.invalidTensor(tensor: name, reason: "can only write F32, F16 or BF16, not \(dtype.rawValue)")
        }
        guard shape.allSatisfy({ $0 >= 0 }), shape.reduce(1, *) == data.count else {
            throw SafetensorsError.invalidTensor(tensor: name, reason: "shape \(shape) does not match \(data.count) values")
        }
        entries[name] = Entry(shape: shape, data: data, dtype: dtype)
    }

    public mutating func add(_ name: String, _ tensor: Tensor, as dtype: SafetensorsDType = .f32) throws {
        try add(name, shape: tensor.shape, data: tensor.data, as: dtype)
    }

    /// Names in file order (the reference writer's order).
    var orderedNames: [String] {
        Self.referenceOrder(entries.keys.map { ($0, entries[$0]!.dtype) })
    }

    /// Tensor names in the reference writer's file order: wider dtypes first, then by name bytes.
    static func referenceOrder(_ tensors: [(name: String, dtype: SafetensorsDType)]) -> [String] {
        tensors.sorted { a, b in
            let ra = a.dtype.referenceRank, rb = b.dtype.referenceRank
            if ra != rb { return ra > rb }
            return Array(a.name.utf8).lexicographicallyPrecedes(Array(b.name.utf8))
        }.map(\.name)
    }

    /// The 8-byte length plus padded JSON header.
    func headerBytes() -> [UInt8] {
        Self.header(metadata: metadata, tensors: orderedNames.map { ($0, entries[$0]!.dtype, entries[$0]!.shape) })
    }

    /// The header of a file holding `tensors` in this order, back to back from offset 0.
    static func header(metadata: [String: String], tensors: [(name: String, dtype: SafetensorsDType, shape: [Int])]) -> [UInt8] {
        var json = "{"
        var first = true
        if !metadata.isEmpty {
            json += "\"__metadata__\":{"
            json += metadata.keys.sorted().map { "\(jsonString($0)):\(jsonString(metadata[$0]!))" }.joined(separator: ",")
            json += "}"
            first = false
        }
        var offset = 0
        for t in tensors {
            let size = t.shape.reduce(1, *) * t.dtype.byteSize
            if !first { json += "," }
            first = false
            json += "\(jsonString(t.name)):{\"dtype\":\"\(t.dtype.rawValue)\",\"shape\":[\(t.shape.map(String.init).joined(separator: ","))],\"data_offsets\":[\(offset),\(offset + size)]}"
            offset += size
        }
        json += "}"
        var bytes = Array(json.utf8)
        while bytes.count % 8 != 0 { bytes.append(0x20) }
        var out = [UInt8]()
        out.reserveCapacity(8 + bytes.count)
        withUnsafeBytes(of: UInt64(bytes.count).littleEndian) { out.append(contentsOf: $0) }
        out.append(contentsOf: bytes)
        return out
    }

    /// Writes the file atomically, replacing any existing file at `path`.
    public func write(to path: String) throws {
        let w = try AtomicFileWriter(path: path)
        try w.write(headerBytes())
        for name in orderedNames {
            let e = entries[name]!
            try e.data.withUnsafeBufferPointer { try Self.writeValues($0, as: e.dtype, to: w) }
        }
        try w.commit()
    }
}

extension SafetensorsWriter {
    /// Appends float32 values to `w` as `dtype` (F32 as is; F16/BF16 rounded to nearest even),
    /// little-endian, converting in pieces of 64 Ki values.
    static func writeValues(_ v: UnsafeBufferPointer<Float>, as dtype: SafetensorsDType, to w: AtomicFileWriter) throws {
        switch dtype {
        case .f32:
            try w.write(UnsafeRawBufferPointer(v))
        case .f16, .bf16:
            let chunk = 1 << 16
            var bits = [UInt16](repeating: 0, count: min(chunk, v.count))
            var start = 0
            while start < v.count {
                let n = min(chunk, v.count - start)
                for i in 0..<n {
                    let x = v[start + i]
                    bits[i] = (dtype == .f16 ? float16Bits(x) : bfloat16Bits(x)).littleEndian
                }
                try bits.withUnsafeBytes { try w.write(UnsafeRawBufferPointer(rebasing: $0[0..<(2 * n)])) }
                start += n
            }
        default:
            preconditionFailure("writes F32, F16 or BF16 only")
        }
    }
}

/// A JSON string literal for `s` (quotes, backslashes and control characters escaped).
func jsonString(_ s: String) -> String {
    var out = "\""
    for u in s.unicodeScalars {
        switch u {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case "\n": out += "\\n"
        case "\r": out += "\\r"
        case "\t": out += "\\t"
        default:
            if u.value < 0x20 {
                out += String(format: "\\u%04x", u.value)
            } else {
                out.unicodeScalars.append(u)
            }
        }
    }
    return out + "\""
}
