/// Writes a safetensors file whose tensors are produced piece by piece, so a file far larger
/// than memory (a 7B checkpoint's shard) is written holding one piece at a time. The header
/// comes first from the declared names, shapes and dtypes; then each tensor's values are
/// asked for in file order (the reference writer's: `SafetensorsWriter.referenceOrder`) in
/// pieces of at most `pieceValues` floats, converted and appended. Atomic like
/// `SafetensorsWriter`: a temporary file renamed into place when complete.
public struct SafetensorsStreamWriter {
    public struct Tensor: Sendable, Equatable {
        public var name: String
        public var shape: [Int]
        public var dtype: SafetensorsDType
        public init(name: String, shape: [Int], dtype: SafetensorsDType) {
            self.name = name; self.shape = shape; self.dtype = dtype
        }
        public var count: Int { shape.reduce(1, *) }
    }

    public var metadata: [String: String]
    public let tensors: [Tensor]
    public var pieceValues = 1 << 20

    /// Checks names (non-empty, not reserved, unique), shapes and dtypes before anything is written.
    public init(metadata: [String: String] = [:], tensors: [Tensor]) throws {
        var seen = Set<String>()
        for t in tensors {
            guard !t.name.isEmpty, t.name != "__metadata__" else {
                throw SafetensorsError.invalidTensor(tensor: t.name, reason: "reserved or empty name")
            }
            guard seen.insert(t.name).inserted else { throw SafetensorsError.invalidTensor(tensor: t.name, reason: "added twice") }
            guard [.f32, .f16, .bf16].contains(t.dtype) else {
                throw SafetensorsError.invalidTensor(tensor: t.name, reason: "can only write F32, F16 or BF16, not \(t.dtype.rawValue)")
            }
            guard t.shape.allSatisfy({ $0 >= 0 }) else {
                throw SafetensorsError.invalidTensor(tensor: t.name, reason: "negative dimension in \(t.shape)")
            }
        }
        self.metadata = metadata
        let order = SafetensorsWriter.referenceOrder(tensors.map { ($0.name, $0.dtype) })
        let byName = Dictionary(uniqueKeysWithValues: tensors.map { ($0.name, $0) })
        self.tensors = order.map { byName[$0]! }
    }

    /// Bytes the file will have.
    public var fileBytes: Int {
        SafetensorsWriter.header(metadata: metadata, tensors: tensors.map { ($0.name, $0.dtype, $0.shape) }).count
            + tensors.reduce(0) { $0 + $1.count * $1.dtype.byteSize }
    }

    /// Writes the file: `fill(tensor, offset, piece)` puts the tensor's values offset..<offset +
    /// piece.count (row-major) into `piece`.
    public func write(to path: String, fill: (Tensor, Int, UnsafeMutableBufferPointer<Float>) throws -> Void) throws {
        let w = try AtomicFileWriter(path: path)
        try w.write(SafetensorsWriter.header(metadata: metadata, tensors: tensors.map { ($0.name, $0.dtype, $0.shape) }))
        let piece = UnsafeMutableBufferPointer<Float>.allocate(capacity: max(1, pieceValues))
        defer { piece.deallocate() }
        for t in tensors {
            var offset = 0
            while offset < t.count {
                let n = min(pieceValues, t.count - offset)
                let part = UnsafeMutableBufferPointer(rebasing: piece[0..<n])
                try fill(t, offset, part)
                try SafetensorsWriter.writeValues(UnsafeBufferPointer(part), as: t.dtype, to: w)
                offset += n
            }
        }
        try w.commit()
    }
}
