import XCTest
@testable import ModelIO
import Compute

/// Decoding of every supported ggml type against gguf-py's dequantize (fixtures from
/// scripts/make_gguf_fixtures.py).
final class GGUFDecodeTests: XCTestCase {
    struct ManifestEntry { let name: String; let type: String; let dims: [Int] }

    func manifest() throws -> [ManifestEntry] {
        let text = try String(contentsOfFile: GGUFFixtures.path("types_manifest.txt"), encoding: .utf8)
        return text.split(separator: "\n").map { line in
            let f = line.split(separator: " ").map(String.init)
            return ManifestEntry(name: f[0], type: f[1], dims: f[2...].map { Int($0)! })
        }
    }

    func testTensorInfosMatchManifest() throws {
        let file = try GGUFFile(path: GGUFFixtures.path("types.gguf"))
        let entries = try manifest()
        XCTAssertEqual(file.tensors.map(\.name), entries.map(\.name))
        for e in entries {
            let t = try XCTUnwrap(file.tensor(named: e.name))
            XCTAssertEqual(t.type.name, e.type, e.name)
            XCTAssertEqual(t.dims, e.dims, e.name)
            XCTAssertEqual(t.shape, e.dims.reversed(), e.name)
            XCTAssertEqual(t.byteSize, t.elementCount / t.type.blockSize * t.type.bytesPerBlock)
            XCTAssertEqual((t.offset - file.dataOffset) % file.alignment, 0)
        }
    }

    func testEveryTypeMatchesGGUFPyBitExactly() throws {
        let file = try GGUFFile(path: GGUFFixtures.path("types.gguf"))
        var checked = Set<String>()
        for e in try manifest() where e.name != "q2_k" {
            let t = try XCTUnwrap(file.tensor(named: e.name))
            let got = try file.decodeFloat32(t)
            let want = try GGUFFixtures.floats("expected/\(e.name).f32")
            assertBitEqual(got, want, e.name)
            // The into: variant agrees.
            var buf = [Float](repeating: .nan, count: t.elementCount)
            try buf.withUnsafeMutableBufferPointer { try file.decodeFloat32(t, into: $0) }
            assertBitEqual(buf, want, e.name + " (into:)")
            checked.insert(t.type.name)
        }
        XCTAssertEqual(checked, ["F32", "F16", "BF16", "Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q8_0", "Q4_K", "Q5_K", "Q6_K"])
        XCTAssertEqual(Set(GGMLType.allCases.filter(\.isDecodable).map(\.name)), checked)
    }

    func testUnsupportedTypeNamesTensorAndType() throws {
        let file = try GGUFFile(path: GGUFFixtures.path("types.gguf"))
        let t = try XCTUnwrap(file.tensor(named: "q2_k"))
        XCTAssertEqual(t.type, .q2_K)
        let e = expectGGUFError("decode Q2_K") { _ = try file.decodeFloat32(t) }
        XCTAssertEqual(e, .unsupportedTensorType(tensor: "q2_k", type: .q2_K))
        XCTAssertTrue(e?.description.contains("'q2_k'") ?? false)
        XCTAssertTrue(e?.description.contains("Q2_K") ?? false)
        XCTAssertNoThrow(try file.rawBytes(t))
    }

    func testForeignTensorInfoIsRejected() throws {
        let file = try GGUFFile(path: GGUFFixtures.path("types.gguf"))
        let bogus = GGUFTensorInfo(name: "x", dims: [32, 1_000_000], type: .q8_0, offset: 0, byteSize: 34 * 1_000_000)
        expectGGUFError("foreign info") { _ = try file.decodeFloat32(bogus) }
        let inconsistent = GGUFTensorInfo(name: "y", dims: [32], type: .q8_0, offset: 0, byteSize: 10)
        expectGGUFError("inconsistent info") { _ = try file.decodeFloat32(inconsistent) }
        let overflowing = GGUFTensorInfo(name: "z", dims: [1 << 40, 1 << 40], type: .f32, offset: 0, byteSize: 4)
        expectGGUFError("overflowing info") { _ = try file.decodeFloat32(overflowing) }
    }

    func testTypeTable() {
        // ggml ids and (block size, bytes per block), as in ggml.h / gguf-py GGML_QUANT_SIZES.
        let table: [(GGMLType, UInt32, Int, Int)] = [
            (.f32, 0, 1, 4), (.f16, 1, 1, 2), (.q4_0, 2, 32, 18), (.q4_1, 3, 32, 20),
            (.q5_0, 6, 32, 22), (.q5_1, 7, 32, 24), (.q8_0, 8, 32, 34), (.q8_1, 9, 32, 40),
            (.q2_K, 10, 256, 84), (.q3_K, 11, 256, 110), (.q4_K, 12, 256, 144), (.q5_K, 13, 256, 176),
            (.q6_K, 14, 256, 210), (.q8_K, 15, 256, 292), (.iq2_XXS, 16, 256, 66), (.iq4_NL, 20, 32, 18),
            (.iq4_XS, 23, 256, 136), (.iq1_M, 29, 256, 56), (.bf16, 30, 1, 2), (.tq2_0, 35, 256, 66),
        ]
        for (t, id, bs, tb) in table {
            XCTAssertEqual(t.rawValue, id, t.name)
            XCTAssertEqual(t.blockSize, bs, t.name)
            XCTAssertEqual(t.bytesPerBlock, tb, t.name)
        }
        XCTAssertNil(GGMLType(rawValue: 4))
    }

    /// The multi-threaded path (split by blocks) equals a single sequential pass.
    func testParallelDecodeEqualsSequential() {
        let nBlocks = 20_000
        for type in GGMLType.allCases where type.isDecodable && type.blockSize > 1 {
            var bytes = [UInt8](repeating: 0, count: nBlocks * type.bytesPerBlock)
            var state: UInt64 = 0x9E3779B97F4A7C15
            for i in bytes.indices { state = state &* 6364136223846793005 &+ 1442695040888963407; bytes[i] = UInt8(truncatingIfNeeded: state >> 33) }
            // Keep f16 scale fields finite so the comparison is meaningful (exponent < 31).
            for b in 0..<nBlocks {
                let base = b * type.bytesPerBlock
                let fields: [Int] = type == .q6_K ? [208] : (type == .q4_0 || type == .q5_0 || type == .q8_0) ? [0] : [0, 2]
                for f in fields { bytes[base + f + 1] &= 0x3B }
            }
            let n = nBlocks * type.blockSize
            var par = [Float](repeating: 0, count: n), seq = [Float](repeating: 0, count: n)
            bytes.withUnsafeBytes { src in
                par.withUnsafeMutableBufferPointer { GGMLDequantize.decode(type, from: src.baseAddress!, to: $0.baseAddress!, count: n) }
                seq.withUnsafeMutableBufferPointer { GGMLDequantize.decodeBlocks(type, src.baseAddress!, $0.baseAddress!, nBlocks) }
            }
            assertBitEqual(par, seq, type.name)
        }
    }
}
