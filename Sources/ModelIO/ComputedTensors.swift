/// Tensors computed when asked for (e.g. cut from another model's on demand): known shapes,
/// values from a closure.
public struct ComputedTensors: TensorSource {
    public let shapes: [String: [Int]]
    public let values: (String, [Int]) throws -> [Float]

    public init(shapes: [String: [Int]], values: @escaping (String, [Int]) throws -> [Float]) {
        self.shapes = shapes; self.values = values
    }

    public func shape(of name: String) -> [Int]? { shapes[name] }

    public func loadFloat32(_ name: String) throws -> [Float] {
        guard let s = shapes[name] else { throw TensorSourceError.missingTensor(name) }
        return try values(name, s)
    }
}
