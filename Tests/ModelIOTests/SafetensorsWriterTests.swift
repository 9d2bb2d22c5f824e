import XCTest
import Foundation
@testable import ModelIO
import Compute

final class SafetensorsWriterTests: XCTestCase {
    var dir: String!

    override func setUpWithError() throws { dir = try Fixtures.temporaryDirectory() }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: dir) }

    func testRoundTripF32F16BF16() throws {
        let path = dir + "/rt.safetensors"
        let a = (0..<12).map { Float($0) * 0.37 - 2 }
        let b: [Float] = [1, -0.5, 3.14159, 65504, 1e-8, -0.0]
        var w = SafetensorsWriter(metadata: ["format": "pt", "quote\"key": "line\nbreak"])
        try w.add("layer.a", shape: [3, 4], data: a)
        try w.add("b16", shape: [6], data: b, as: .f16)
        try w.add("bb", Tensor(shape: [2, 3], data: b), as: .bf16)
        try w.add("scalar", shape: [], data: [7])
        try w.add("empty", shape: [0, 3], data: [])
        try w.write(to: path)

        let f = try SafetensorsFile(path: path)
        XCTAssertEqual(f.metadata, ["format": "pt", "quote\"key": "line\nbreak"])
        XCTAssertEqual(try f.loadFloat32("layer.a"), a)
        XCTAssertEqual(f.shape(of: "layer.a"), [3, 4])
        XCTAssertEqual(f.info("b16")?.dtype, .f16)
        XCTAssertEqual(try f.loadFloat32("b16"), b.map { floatFromFloat16Bits(float16Bits($0)) })
        XCTAssertEqual(f.info("bb")?.dtype, .bf16)
        XCTAssertEqual(try f.loadTensor("bb").shape, [2, 3])
        XCTAssertEqual(try f.loadFloat32("bb"), b.map { floatFromBFloat16Bits(bfloat16Bits($0)) })
        XCTAssertEqual(try f.loadFloat32("scalar"), [7])
        XCTAssertEqual(f.shape(of: "empty"), [0, 3])
        // No temporary files left behind.
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir), ["rt.safetensors"])
    }

    func testLayoutMatchesReferenceWriter() throws {
        // The reference orders by dtype (F32 before BF16 before F16), then by name, and
        // pads the header with spaces to a multiple of 8.
        var w = SafetensorsWriter()
        try w.add("z", shape: [1], data: [1], as: .f16)
        try w.add("b", shape: [1], data: [1])
        try w.add("a", shape: [1], data: [1], as: .bf16)
        try w.add("B", shape: [2], data: [1, 2])
        let path = dir + "/order.safetensors"
        try w.write(to: path)
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        let n = Int(bytes[0..<8].reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) })
        XCTAssertEqual(n % 8, 0)
        let header = String(decoding: bytes[8..<(8 + n)], as: UTF8.self)
        let expected = #"{"B":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]},"a":{"dtype":"BF16","shape":[1],"data_offsets":[12,14]},"z":{"dtype":"F16","shape":[1],"data_offsets":[14,16]}}"#
        XCTAssertEqual(header.trimmingCharacters(in: .whitespaces), expected)
        XCTAssertEqual(bytes.count, 8 + n + 16)
        XCTAssertEqual(try SafetensorsFile(path: path).tensorNames, ["B", "b", "a", "z"])
    }

    func testRewritesTinyModelIdentically() throws {
        // Read a Python-written model and write it back: same tensors, same values.
        let src = try SafetensorsFile(path: Fixtures.tiny("qwen2") + "/model.safetensors")
        var w = SafetensorsWriter(metadata: src.metadata)
        for name in src.tensorNames { try w.add(name, try src.loadTensor(name)) }
        let path = dir + "/copy.safetensors"
        try w.write(to: path)
        let copy = try SafetensorsFile(path: path)
        XCTAssertEqual(Set(copy.tensorNames), Set(src.tensorNames))
        for name in src.tensorNames {
            XCTAssertEqual(copy.shape(of: name), src.shape(of: name))
            XCTAssertEqual(try copy.loadFloat32(name), try src.loadFloat32(name))
        }
        // Python's writer produces the same layout for all-F32 files, so the bytes match
        // except for metadata key order (a single key here).
        let original = try Data(contentsOf: URL(fileURLWithPath: src.path))
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: path)), original)
    }

    func testAtomicReplaceAndInvalidInput() throws {
        let path = dir + "/m.safetensors"
        var w1 = SafetensorsWriter()
        try w1.add("x", shape: [1], data: [1])
        try w1.write(to: path)
        var w2 = SafetensorsWriter()
        try w2.add("y", shape: [2], data: [2, 3])
        try w2.write(to: path)
        XCTAssertEqual(try SafetensorsFile(path: path).tensorNames, ["y"])

        var w = SafetensorsWriter()
        XCTAssertThrowsSafetensors(try w.add("a", shape: [2, 2], data: [1, 2, 3])) {
            if case .invalidTensor("a", _) = $0 { return true } else { return false }
        }
        XCTAssertThrowsSafetensors(try w.add("__metadata__", shape: [1], data: [1])) {
            if case .invalidTensor = $0 { return true } else { return false }
        }
        XCTAssertThrowsSafetensors(try w.add("i", shape: [1], data: [1], as: .i32)) {
            if case .invalidTensor = $0 { return true } else { return false }
        }
        try w.add("a", shape: [1], data: [1])
        XCTAssertThrowsSafetensors(try w.add("a", shape: [1], data: [1])) {
            if case .invalidTensor("a", _) = $0 { return true } else { return false }
        }
        XCTAssertThrowsSafetensors(try w.write(to: dir + "/no/such/dir/x.safetensors")) {
            if case .writeFailed = $0 { return true } else { return false }
        }
    }
}
