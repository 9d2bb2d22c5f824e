import Foundation
import XCTest
import Compute
@testable import ModelIO

/// GGMLQuantize against gguf-py's quantizer (llama.cpp's reference rounding) on the same
/// float32 matrix: every byte equal. Fixtures: scripts/make_export_fixtures.py.
final class GGMLQuantizeTests: XCTestCase {
    static let dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Fixtures/export")
    static let rows = 8, cols = 96

    func input() throws -> [Float] {
        let data = try Data(contentsOf: Self.dir.appendingPathComponent("quant_input.f32"))
        return data.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
    }

    func testBytesMatchGGUFPy() throws {
        let x = try input()
        XCTAssertEqual(x.count, Self.rows * Self.cols)
        for (name, type) in [("f16", GGMLType.f16), ("bf16", .bf16), ("q8_0", .q8_0), ("q4_0", .q4_0)] {
            let expected = try Data(contentsOf: Self.dir.appendingPathComponent("quant_\(name).bin"))
            let ours = try GGMLQuantize.encode(x, rowLength: Self.cols, as: type)
            XCTAssertEqual(ours.count, expected.count, name)
            let firstDiff = zip(ours, expected).enumerated().first { $0.element.0 != $0.element.1 }?.offset
            XCTAssertNil(firstDiff, "\(name): first differing byte at \(firstDiff ?? -1)")
        }
    }

    func testDecodedValuesAreWithinTheTypesError() throws {
        let x = try input()
        for type in [GGMLType.q8_0, .q4_0] {
            let bytes = try GGMLQuantize.encode(x, rowLength: Self.cols, as: type)
            var back = [Float](repeating: .nan, count: x.count)
            bytes.withUnsafeBytes { raw in
                back.withUnsafeMutableBufferPointer { GGMLDequantize.decode(type, from: raw.baseAddress!, to: $0.baseAddress!, count: x.count) }
            }
            for b in 0..<(x.count / 32) {
                let block = x[(b * 32)..<(b * 32 + 32)]
                let amax = block.map(abs).max()!
                // Half a quantization step (a whole one for Q4_0's clipped +8), plus the f16
                // scale's own rounding times the largest code, bounds the error.
                let levels: Float = type == .q8_0 ? 127 : 8
                let step = amax / levels
                let scaleError = abs(floatFromFloat16Bits(float16Bits(step)) - step) * levels
                for j in (b * 32)..<(b * 32 + 32) {
                    XCTAssertLessThanOrEqual(abs(back[j] - x[j]), step * (type == .q8_0 ? 0.501 : 1.001) + scaleError * 1.001,
                                             "\(type) block \(b) element \(j)")
                }
            }
        }
    }

    func testRejectsRowsThatAreNotWholeBlocks() {
        XCTAssertThrowsError(try GGMLQuantize.encode([Float](repeating: 1, count: 40), rowLength: 40, as: .q8_0)) { e in
            XCTAssertEqual(e as? GGMLQuantizeError, .rowNotBlockAligned(rowLength: 40, type: .q8_0))
        }
        XCTAssertThrowsError(try GGMLQuantize.encode([1, 2, 3], rowLength: 2, as: .f32))
        XCTAssertThrowsError(try GGMLQuantize.encode([1, 2], rowLength: 2, as: .q4_K))
    }
}
