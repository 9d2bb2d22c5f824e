/// A contiguous, row-major float32 tensor. The engine's only data type: weights are
/// decoded to float32 at load time and activations stay float32 (DESIGN.md §4).
public struct Tensor: Sendable {
    public var shape: [Int]
    public var data: [Float]

    public init(shape: [Int], data: [Float]) {
        precondition(shape.reduce(1, *) == data.count, "shape \(shape) does not match \(data.count) elements")
        self.shape = shape
        self.data = data
    }

    public init(zeros shape: [Int]) {
        self.shape = shape
        self.data = [Float](repeating: 0, count: shape.reduce(1, *))
    }

    public var count: Int { data.count }
    public var rows: Int { shape.count >= 2 ? shape[0] : 1 }
    public var columns: Int { shape.last ?? 1 }

    public subscript(_ i: Int, _ j: Int) -> Float {
        get { data[i * shape[1] + j] }
        set { data[i * shape[1] + j] = newValue }
    }
}
