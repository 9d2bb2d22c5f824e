import Compute

/// One tensor's entry in a GGUF file.
public struct GGUFTensorInfo: Sendable, Equatable {
    public let name: String
    /// Dimensions in ggml order: ne0 (the contiguous, fastest-varying one) first.
    public let dims: [Int]
    public let type: GGMLType
    /// Absolute byte offset of the tensor data in the file.
    public let offset: Int
    /// Bytes of tensor data.
    public let byteSize: Int

    public init(name: String, dims: [Int], type: GGMLType, offset: Int, byteSize: Int) {
        self.name = name; self.dims = dims; self.type = type; self.offset = offset; self.byteSize = byteSize
    }

    public var elementCount: Int { dims.reduce(1, *) }
    /// Row-major (PyTorch / Hugging Face) shape: the ggml dims reversed, e.g. [out, in] for a weight.
    public var shape: [Int] { dims.reversed() }
}

/// A GGUF (v2/v3, little-endian) file: header, metadata, tensor directory, and access to the
/// tensor data through a read-only memory map.
///
/// Layout (gguf.h):
///   u32 magic "GGUF" | u32 version | u64 n_tensors | u64 n_kv
///   n_kv × { string key | u32 value_type | value }
///   n_tensors × { string name | u32 n_dims | u64 ne[n_dims] | u32 ggml_type | u64 offset }
///   padding to `general.alignment` (default 32) | tensor data (offsets relative to here)
/// where string = u64 byte length + UTF-8 bytes (no terminator) and an array value is
/// u32 element_type + u64 count + elements (elements may themselves be arrays).
public final class GGUFFile: @unchecked Sendable {
    public let path: String
    public let version: UInt32
    public let metadata: [String: GGUFValue]
    /// Metadata keys in file order.
    public let metadataKeys: [String]
    public let tensors: [GGUFTensorInfo]
    public let alignment: Int
    /// Absolute offset of the tensor data section.
    public let dataOffset: Int
    public var fileSize: Int { file.count }

    /// The `tokenizer.*` key/values in file order (what a copy of the tokenizer carries).
    public var tokenizerMetadata: [(String, GGUFValue)] {
        metadataKeys.filter { $0.hasPrefix("tokenizer.") }.compactMap { k in metadata[k].map { (k, $0) } }
    }

    private let file: MappedFile
    private let tensorIndex: [String: Int]

    /// Deepest array nesting accepted (real files use 1; this guards the parser's stack).
    static let maxArrayDepth = 16
    static let maxDims = 4

    public init(path: String) throws {
        let file = try MappedFile(path: path)
        self.file = file
        self.path = path
        var r = ByteReader(base: file.base, count: file.count, path: path)

        // Header.
        try r.need(4, "the GGUF header (magic)")
        let magic = [UInt8](UnsafeRawBufferPointer(start: file.base, count: 4))
        guard magic == Array("GGUF".utf8) else { throw GGUFError.badMagic(path: path, found: magic) }
        r.pos = 4
        let version = try r.u32("the GGUF header (version)")
        guard version == 2 || version == 3 else {
            let swapped = version.byteSwapped
            throw GGUFError.unsupportedVersion(path: path, version: version, bigEndian: swapped == 2 || swapped == 3)
        }
        self.version = version
        let nTensors = try r.u64("the GGUF header (tensor count)")
        let nKV = try r.u64("the GGUF header (metadata count)")
        // Each KV needs at least 8 (key length) + 4 (type) + 1 bytes; each tensor info
        // at least 8 (name length) + 4 (n_dims) + 4 (type) + 8 (offset).
        try r.checkCount(nKV, minBytesEach: 13, "metadata key/value count")
        try r.checkCount(nTensors, minBytesEach: 24, "tensor count")

        // Metadata.
        var metadata = [String: GGUFValue](minimumCapacity: Int(nKV))
        var keys = [String](); keys.reserveCapacity(Int(nKV))
        for i in 0..<Int(nKV) {
            let key = try r.string("metadata key #\(i)")
            let rawType = try r.u32("the type of metadata '\(key)'")
            guard let type = GGUFValueType(rawValue: rawType) else {
                throw GGUFError.unknownValueType(path: path, key: key, typeID: rawType)
            }
            let value = try r.value(type, key: key, depth: 0)
            guard metadata.updateValue(value, forKey: key) == nil else {
                throw GGUFError.duplicateKey(path: path, key: key)
            }
            keys.append(key)
        }
        self.metadata = metadata
        self.metadataKeys = keys

        var alignment = 32
        if let a = metadata["general.alignment"] {
            guard let v = a.int, v > 0, v & (v - 1) == 0, v <= 1 << 30 else {
                throw GGUFError.invalidAlignment(path: path, value: a.description)
            }
            alignment = v
        }
        self.alignment = alignment

        // Tensor infos (offsets relative to the data section, resolved below).
        struct RawInfo { var name: String; var dims: [Int]; var type: GGMLType; var rel: UInt64; var bytes: Int }
        var raw = [RawInfo](); raw.reserveCapacity(Int(nTensors))
        var index = [String: Int](minimumCapacity: Int(nTensors))
        for i in 0..<Int(nTensors) {
            let name = try r.string("the name of tensor info #\(i)")
            let nDims = try r.u32("tensor info '\(name)' (n_dims)")
            guard nDims >= 1, nDims <= UInt32(GGUFFile.maxDims) else {
                throw GGUFError.invalidTensorInfo(path: path, tensor: name, reason: "\(nDims) dimensions (must be 1...\(GGUFFile.maxDims))")
            }
            var dims = [Int](); dims.reserveCapacity(Int(nDims))
            var count = 1
            for d in 0..<Int(nDims) {
                let ne = try r.u64("tensor info '\(name)' (dimension \(d))")
                guard ne <= UInt64(Int64.max), let n = Int(exactly: ne) else {
                    throw GGUFError.invalidTensorInfo(path: path, tensor: name, reason: "dimension \(d) is \(Int64(bitPattern: ne)) (negative or huge)")
                }
                let (p, overflow) = count.multipliedReportingOverflow(by: n)
                guard !overflow else {
                    throw GGUFError.invalidTensorInfo(path: path, tensor: name, reason: "element count overflows (dims \(dims + [n]))")
                }
                count = p
                dims.append(n)
            }
            let typeID = try r.u32("tensor info '\(name)' (type)")
            guard let type = GGMLType(rawValue: typeID) else {
                throw GGUFError.unknownTensorType(path: path, tensor: name, typeID: typeID)
            }
            guard dims[0] % type.blockSize == 0 else {
                throw GGUFError.rowNotMultipleOfBlock(path: path, tensor: name, ne0: dims[0], type: type)
            }
            let (bytes, overflow) = (count / type.blockSize).multipliedReportingOverflow(by: type.bytesPerBlock)
            guard !overflow else {
                throw GGUFError.invalidTensorInfo(path: path, tensor: name, reason: "byte size overflows (dims \(dims))")
            }
            let rel = try r.u64("tensor info '\(name)' (offset)")
            guard index.updateValue(i, forKey: name) == nil else {
                throw GGUFError.duplicateTensorName(path: path, name: name)
            }
            raw.append(RawInfo(name: name, dims: dims, type: type, rel: rel, bytes: bytes))
        }

        // Data section: aligned after the tensor infos.
        let dataOffset = (r.pos + alignment - 1) / alignment * alignment
        self.dataOffset = dataOffset
        var infos = [GGUFTensorInfo](); infos.reserveCapacity(raw.count)
        for t in raw {
            guard t.rel % UInt64(alignment) == 0 else {
                throw GGUFError.invalidTensorInfo(path: path, tensor: t.name, reason: "data offset \(t.rel) is not a multiple of the alignment \(alignment)")
            }
            guard t.rel <= UInt64(file.count), Int(t.rel) + dataOffset <= file.count,
                  t.bytes <= file.count - dataOffset - Int(t.rel) else {
                throw GGUFError.truncated(path: path, what: "the data of tensor '\(t.name)' (\(t.type.name), dims \(t.dims))",
                                          offset: dataOffset &+ Int(truncatingIfNeeded: t.rel), needed: t.bytes, fileSize: file.count)
            }
            infos.append(GGUFTensorInfo(name: t.name, dims: t.dims, type: t.type,
                                        offset: dataOffset + Int(t.rel), byteSize: t.bytes))
        }
        self.tensors = infos
        self.tensorIndex = index
    }

    /// The tensor info with this (llama.cpp) name.
    public func tensor(named name: String) -> GGUFTensorInfo? {
        tensorIndex[name].map { tensors[$0] }
    }

    public subscript(key: String) -> GGUFValue? { metadata[key] }

    /// The raw bytes of a tensor's data, valid while this file is alive.
    public func rawBytes(_ info: GGUFTensorInfo) throws -> UnsafeRawBufferPointer {
        try checkBelongs(info)
        return file.bytes(at: info.offset, count: info.byteSize)
    }

    /// Decodes a tensor to float32, row-major (ne0 fastest: a 2-D weight comes out as [out, in]).
    public func decodeFloat32(_ info: GGUFTensorInfo) throws -> [Float] {
        try checkBelongs(info)
        guard info.type.isDecodable else { throw GGUFError.unsupportedTensorType(tensor: info.name, type: info.type) }
        let n = info.elementCount
        let src = file.base + info.offset
        defer { file.releasePages(at: info.offset, count: info.byteSize) }   // decoded: the file pages may go
        return [Float](unsafeUninitializedCapacity: n) { buf, initialized in
            if n > 0 { GGMLDequantize.decode(info.type, from: src, to: buf.baseAddress!, count: n) }
            initialized = n
        }
    }

    /// Decodes a tensor into caller-provided storage of `info.elementCount` floats.
    public func decodeFloat32(_ info: GGUFTensorInfo, into dst: UnsafeMutableBufferPointer<Float>) throws {
        try checkBelongs(info)
        guard info.type.isDecodable else { throw GGUFError.unsupportedTensorType(tensor: info.name, type: info.type) }
        guard dst.count >= info.elementCount else {
            throw GGUFError.invalidTensorInfo(path: path, tensor: info.name, reason: "destination holds \(dst.count) floats, needs \(info.elementCount)")
        }
        if info.elementCount > 0 {
            GGMLDequantize.decode(info.type, from: file.base + info.offset, to: dst.baseAddress!, count: info.elementCount)
        }
    }

    /// Guards against infos fabricated or taken from another file.
    private func checkBelongs(_ info: GGUFTensorInfo) throws {
        var count = 1, overflow = false
        for d in info.dims where !overflow { (count, overflow) = count.multipliedReportingOverflow(by: d) }
        guard !overflow, info.dims.allSatisfy({ $0 >= 0 }), info.dims.first.map({ $0 % info.type.blockSize == 0 }) ?? false,
              info.byteSize == count / info.type.blockSize * info.type.bytesPerBlock,
              info.offset >= 0, info.byteSize >= 0, info.offset <= file.count, info.byteSize <= file.count - info.offset else {
            throw GGUFError.invalidTensorInfo(path: path, tensor: info.name, reason: "its offset/size/shape do not fit this file")
        }
    }
}

/// Bounds-checked little-endian cursor over the mapped file. Every read checks the
/// remaining length first, so corrupt counts can neither read past the map nor make
/// the parser allocate more than the file could describe.
struct ByteReader {
    let base: UnsafeRawPointer
    let count: Int
    let path: String
    var pos = 0

    init(base: UnsafeRawPointer, count: Int, path: String) {
        self.base = base; self.count = count; self.path = path
    }

    var bytesLeft: Int { count - pos }

    @inline(__always)
    func need(_ n: Int, _ what: @autoclosure () -> String) throws {
        guard n <= count - pos else {
            throw GGUFError.truncated(path: path, what: what(), offset: pos, needed: n, fileSize: count)
        }
    }

    func checkCount(_ n: UInt64, minBytesEach: Int, _ what: @autoclosure () -> String) throws {
        guard n <= UInt64(bytesLeft / minBytesEach) else {
            throw GGUFError.absurdCount(path: path, what: what(), count: n, bytesLeft: bytesLeft)
        }
    }

    @inline(__always)
    mutating func load<T: FixedWidthInteger>(_: T.Type) -> T {
        let v = T(littleEndian: base.loadUnaligned(fromByteOffset: pos, as: T.self))
        pos += MemoryLayout<T>.size
        return v
    }

    mutating func u32(_ what: @autoclosure () -> String) throws -> UInt32 {
        try need(4, what()); return load(UInt32.self)
    }

    mutating func u64(_ what: @autoclosure () -> String) throws -> UInt64 {
        try need(8, what()); return load(UInt64.self)
    }

    /// u64 length + UTF-8 bytes, decoded straight from the map (invalid UTF-8 is repaired).
    mutating func string(_ what: @autoclosure () -> String) throws -> String {
        try need(8, what())
        let n = load(UInt64.self)
        guard n <= UInt64(bytesLeft) else {
            throw GGUFError.absurdCount(path: path, what: "the string length of \(what())", count: n, bytesLeft: bytesLeft)
        }
        let len = Int(n)
        let s = String(decoding: UnsafeBufferPointer(start: (base + pos).assumingMemoryBound(to: UInt8.self), count: len),
                       as: UTF8.self)
        pos += len
        return s
    }

    mutating func value(_ type: GGUFValueType, key: String, depth: Int) throws -> GGUFValue {
        let what = { "the value of metadata '\(key)'" }
        switch type {
        case .uint8: try need(1, what()); return .uint8(load(UInt8.self))
        case .int8: try need(1, what()); return .int8(load(Int8.self))
        case .uint16: try need(2, what()); return .uint16(load(UInt16.self))
        case .int16: try need(2, what()); return .int16(load(Int16.self))
        case .uint32: try need(4, what()); return .uint32(load(UInt32.self))
        case .int32: try need(4, what()); return .int32(load(Int32.self))
        case .uint64: try need(8, what()); return .uint64(load(UInt64.self))
        case .int64: try need(8, what()); return .int64(load(Int64.self))
        case .float32: try need(4, what()); return .float32(Float(bitPattern: load(UInt32.self)))
        case .float64: try need(8, what()); return .float64(Double(bitPattern: load(UInt64.self)))
        case .bool:
            try need(1, what())
            let b = load(UInt8.self)
            // llama.cpp writes 0/1; any nonzero byte counts as true.
            return .bool(b != 0)
        case .string: return .string(try string(what()))
        case .array:
            guard depth < GGUFFile.maxArrayDepth else {
                throw GGUFError.nestingTooDeep(path: path, key: key, depth: GGUFFile.maxArrayDepth)
            }
            let rawElem = try u32("the element type of array '\(key)'")
            guard let elem = GGUFValueType(rawValue: rawElem) else {
                throw GGUFError.unknownValueType(path: path, key: key, typeID: rawElem)
            }
            let n = try u64("the length of array '\(key)'")
            try checkCount(n, minBytesEach: elem.minimumEncodedSize, "the length of array '\(key)' (\(elem) elements)")
            let count = Int(n)
            var items = [GGUFValue](); items.reserveCapacity(count)
            // Scalars: bounds were checked for the whole array above; read without per-element checks.
            switch elem {
            case .uint8: for _ in 0..<count { items.append(.uint8(load(UInt8.self))) }
            case .int8: for _ in 0..<count { items.append(.int8(load(Int8.self))) }
            case .uint16: for _ in 0..<count { items.append(.uint16(load(UInt16.self))) }
            case .int16: for _ in 0..<count { items.append(.int16(load(Int16.self))) }
            case .uint32: for _ in 0..<count { items.append(.uint32(load(UInt32.self))) }
            case .int32: for _ in 0..<count { items.append(.int32(load(Int32.self))) }
            case .uint64: for _ in 0..<count { items.append(.uint64(load(UInt64.self))) }
            case .int64: for _ in 0..<count { items.append(.int64(load(Int64.self))) }
            case .float32: for _ in 0..<count { items.append(.float32(Float(bitPattern: load(UInt32.self)))) }
            case .float64: for _ in 0..<count { items.append(.float64(Double(bitPattern: load(UInt64.self)))) }
            case .bool: for _ in 0..<count { items.append(.bool(load(UInt8.self) != 0)) }
            case .string:
                for i in 0..<count { items.append(.string(try string("element \(i) of array '\(key)'"))) }
            case .array:
                for _ in 0..<count { items.append(try value(.array, key: key, depth: depth + 1)) }
            }
            return .array(elem, items)
        }
    }
}
