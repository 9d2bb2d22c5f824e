import XCTest
@testable import ModelIO

/// Malformed input must produce a GGUFError with a one-line message, never a crash.
final class GGUFMalformedTests: XCTestCase {
    /// Every prefix of a fixture shorter than the file is rejected.
    func testEveryTruncationThrows() throws {
        let dir = TempDir()
        for fixture in ["metadata.gguf", "types.gguf", "tiny_qwen2.gguf"] {
            let bytes = try GGUFFixtures.bytes(fixture)
            let full = try GGUFFile(path: GGUFFixtures.path(fixture))
            // All cuts through header/metadata/infos, then a stride through the tensor data
            // (cuts in the padding after the last tensor are legitimately readable).
            let dataEnd = full.tensors.map { $0.offset + $0.byteSize }.max() ?? full.dataOffset
            var cuts = Array(0..<min(bytes.count, full.dataOffset + 1))
            cuts += stride(from: full.dataOffset + 1, to: dataEnd, by: 97)
            cuts.append(dataEnd - 1)
            let path = dir.path + "/cut.gguf"
            for n in cuts {
                writeFile(path, bytes[0..<n])
                guard let e = expectGGUFError("\(fixture) cut at \(n)", { _ = try GGUFFile(path: path) }) else { continue }
                switch e {
                case .truncated, .absurdCount: break
                default: XCTFail("\(fixture) cut at \(n): unexpected \(e)")
                }
            }
        }
    }

    func testTruncatedTensorDataNamesTensor() throws {
        let bytes = try GGUFFixtures.bytes("types.gguf")
        let q2 = try XCTUnwrap(GGUFFile(path: GGUFFixtures.path("types.gguf")).tensor(named: "q2_k"))
        let dir = TempDir()
        let e = expectGGUFError("data cut") { _ = try GGUFFile(path: dir.write(Array(bytes[0..<(q2.offset + q2.byteSize - 1)]))) }
        guard case .truncated(_, let what, _, _, _)? = e else { return XCTFail("\(String(describing: e))") }
        XCTAssertTrue(what.contains("'q2_k'"), what)
    }

    func testBadMagic() throws {
        var bytes = try GGUFFixtures.bytes("metadata.gguf")
        bytes[0] = UInt8(ascii: "X")
        let dir = TempDir()
        let e = expectGGUFError("magic") { _ = try GGUFFile(path: dir.write(bytes)) }
        guard case .badMagic? = e else { return XCTFail("\(String(describing: e))") }
        XCTAssertTrue(e!.description.contains("not a GGUF file"))
        // A safetensors-like file.
        expectGGUFError("json") { _ = try GGUFFile(path: dir.write(Array("{\"a\": 1}".utf8), name: "j")) }
    }

    func testUnsupportedVersions() throws {
        let dir = TempDir()
        for v: UInt32 in [0, 1, 4, 0x0300_0000] {
            var b = GGUFBuilder(); b.version = v
            let e = expectGGUFError("version \(v)") { _ = try GGUFFile(path: dir.write(b.bytes())) }
            guard case .unsupportedVersion(_, let got, let big)? = e else { XCTFail("\(String(describing: e))"); continue }
            XCTAssertEqual(got, v)
            XCTAssertEqual(big, v == 0x0300_0000)
            if v == 1 { XCTAssertTrue(e!.description.contains("v1")) }
            if big { XCTAssertTrue(e!.description.contains("big-endian")) }
        }
    }

    func testAbsurdCountsAndLengths() throws {
        let dir = TempDir()
        var b = GGUFBuilder(); b.kvCountOverride = 1 << 60
        expectAbsurd(dir, b.bytes(), "kv count")
        b = GGUFBuilder(); b.tensorCountOverride = UInt64.max
        expectAbsurd(dir, b.bytes(), "tensor count")
        // A key whose string length is 2^62.
        b = GGUFBuilder(); b.kv = [GGUFBuilder.u64(1 << 62) + Array("abc".utf8)]
        expectAbsurd(dir, b.bytes(), "key length")
        // A string value of absurd length.
        b = GGUFBuilder(); b.add("s", type: 8, payload: GGUFBuilder.u64(UInt64.max) + [1, 2, 3])
        expectAbsurd(dir, b.bytes(), "string value length")
        // An array of 2^40 uint32.
        b = GGUFBuilder(); b.add("a", type: 9, payload: GGUFBuilder.u32(4) + GGUFBuilder.u64(1 << 40) + [0, 0, 0, 0])
        expectAbsurd(dir, b.bytes(), "array count")
        // An array of 2^40 strings, each needing at least 8 bytes.
        b = GGUFBuilder(); b.add("a", type: 9, payload: GGUFBuilder.u32(8) + GGUFBuilder.u64(1 << 40))
        expectAbsurd(dir, b.bytes(), "string array count")
        // A tensor name of absurd length.
        b = GGUFBuilder(); b.tensorInfos = [GGUFBuilder.u64(1 << 50) + [UInt8](repeating: 0, count: 40)]
        expectAbsurd(dir, b.bytes(), "tensor name length")
    }

    private func expectAbsurd(_ dir: TempDir, _ bytes: [UInt8], _ what: String, line: UInt = #line) {
        let e = expectGGUFError(what, line: line) { _ = try GGUFFile(path: dir.write(bytes)) }
        guard case .absurdCount? = e else { return XCTFail("\(what): \(String(describing: e))", line: line) }
    }

    func testUnknownValueType() throws {
        let dir = TempDir()
        var b = GGUFBuilder(); b.add("weird", type: 13, payload: [0, 0, 0, 0])
        XCTAssertEqual(expectGGUFError("value type") { _ = try GGUFFile(path: dir.write(b.bytes())) },
                       .unknownValueType(path: dir.path + "/f.gguf", key: "weird", typeID: 13))
        b = GGUFBuilder(); b.add("arr", type: 9, payload: GGUFBuilder.u32(77) + GGUFBuilder.u64(1) + [0])
        guard case .unknownValueType(_, "arr", 77)? = expectGGUFError("array element type", { _ = try GGUFFile(path: dir.write(b.bytes())) })
        else { return XCTFail() }
    }

    func testDeepNestingIsRejected() throws {
        // 100 levels of one-element arrays: parseable in principle, but beyond the limit.
        var payload = [UInt8]()
        for _ in 0..<100 { payload += GGUFBuilder.u32(9) + GGUFBuilder.u64(1) }
        payload += GGUFBuilder.u32(0) + GGUFBuilder.u64(1) + [7]
        var b = GGUFBuilder(); b.add("deep", type: 9, payload: payload)
        let dir = TempDir()
        guard case .nestingTooDeep? = expectGGUFError("nesting", { _ = try GGUFFile(path: dir.write(b.bytes())) })
        else { return XCTFail() }
    }

    func testDuplicates() throws {
        let dir = TempDir()
        var b = GGUFBuilder(); b.addU32("k", 1); b.addU32("k", 2)
        guard case .duplicateKey(_, "k")? = expectGGUFError("dup key", { _ = try GGUFFile(path: dir.write(b.bytes())) })
        else { return XCTFail() }
        b = GGUFBuilder()
        b.addTensor("w", dims: [4], type: 0, offset: 0)
        b.addTensor("w", dims: [4], type: 0, offset: 32)
        b.data = [UInt8](repeating: 0, count: 64)
        let e = expectGGUFError("dup tensor") { _ = try GGUFFile(path: dir.write(b.bytes())) }
        guard case .duplicateTensorName(_, "w")? = e else { return XCTFail("\(String(describing: e))") }
        XCTAssertTrue(e!.description.contains("'w'"))
    }

    func testBadTensorInfos() throws {
        let dir = TempDir()
        func check(_ dims: [UInt64], type: UInt32, offset: UInt64 = 0, dataBytes: Int = 64, line: UInt = #line,
                   _ match: (GGUFError) -> Bool) {
            var b = GGUFBuilder()
            b.addTensor("bad.weight", dims: dims, type: type, offset: offset)
            b.data = [UInt8](repeating: 0, count: dataBytes)
            guard let e = expectGGUFError("\(dims) type \(type)", line: line, { _ = try GGUFFile(path: dir.write(b.bytes())) }) else { return }
            XCTAssertTrue(match(e), "unexpected \(e)", line: line)
            XCTAssertTrue(e.description.contains("bad.weight"), e.description, line: line)
        }
        check([32], type: 99) { if case .unknownTensorType(_, _, 99) = $0 { return true }; return false }
        check([33, 2], type: 2) { if case .rowNotMultipleOfBlock(_, _, 33, .q4_0) = $0 { return true }; return false }
        check([], type: 0) { if case .invalidTensorInfo = $0 { return true }; return false }
        check([1, 1, 1, 1, 1], type: 0) { if case .invalidTensorInfo = $0 { return true }; return false }
        check([UInt64.max], type: 0) { if case .invalidTensorInfo = $0 { return true }; return false }
        check([1 << 40, 1 << 40], type: 0) { if case .invalidTensorInfo = $0 { return true }; return false }
        check([4], type: 0, offset: 3) { if case .invalidTensorInfo = $0 { return true }; return false }
        check([4], type: 0, offset: 1 << 62) { if case .truncated = $0 { return true }; return false }
        check([1000], type: 0) { if case .truncated = $0 { return true }; return false }
    }

    func testInvalidAlignment() throws {
        let dir = TempDir()
        for bad: UInt32 in [0, 3, 48] {
            var b = GGUFBuilder(); b.addU32("general.alignment", bad)
            guard case .invalidAlignment? = expectGGUFError("alignment \(bad)", { _ = try GGUFFile(path: dir.write(b.bytes())) })
            else { XCTFail(); continue }
        }
        var b = GGUFBuilder(); b.addString("general.alignment", "32")
        guard case .invalidAlignment? = expectGGUFError("string alignment", { _ = try GGUFFile(path: dir.write(b.bytes())) })
        else { return XCTFail() }
    }

    func testMissingFileIsNotACrash() {
        XCTAssertThrowsError(try GGUFFile(path: "/nonexistent/model.gguf"))
        let dir = TempDir()
        guard case .truncated? = expectGGUFError("empty file", { _ = try GGUFFile(path: dir.write([])) }) else { return XCTFail() }
    }

    /// Random byte flips in the header and metadata region never crash the parser.
    func testRandomCorruptionNeverCrashes() throws {
        let original = try GGUFFixtures.bytes("tiny_qwen2.gguf")
        let dataOffset = try GGUFFile(path: GGUFFixtures.path("tiny_qwen2.gguf")).dataOffset
        let dir = TempDir()
        var state: UInt64 = 12345
        func next() -> Int { state = state &* 6364136223846793005 &+ 1442695040888963407; return Int(state >> 33) }
        for _ in 0..<300 {
            var bytes = original
            for _ in 0..<(1 + next() % 4) { bytes[next() % dataOffset] = UInt8(truncatingIfNeeded: next()) }
            do {
                let f = try GGUFFile(path: dir.write(bytes))
                for t in f.tensors where t.type.isDecodable { _ = try f.decodeFloat32(t) }
            } catch is GGUFError {
            } catch {
                XCTFail("non-GGUFError \(error)")
            }
        }
    }
}
