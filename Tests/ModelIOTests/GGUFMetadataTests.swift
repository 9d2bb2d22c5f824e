import XCTest
@testable import ModelIO

/// Every metadata value type, nested arrays, custom alignment (fixture metadata.gguf).
final class GGUFMetadataTests: XCTestCase {
    func testAllValueTypes() throws {
        let f = try GGUFFile(path: GGUFFixtures.path("metadata.gguf"))
        XCTAssertEqual(f.version, 3)
        let m = f.metadata
        XCTAssertEqual(m["general.architecture"], .string("test"))
        XCTAssertEqual(m["t.u8"], .uint8(200))
        XCTAssertEqual(m["t.i8"], .int8(-100))
        XCTAssertEqual(m["t.u16"], .uint16(60000))
        XCTAssertEqual(m["t.i16"], .int16(-30000))
        XCTAssertEqual(m["t.u32"], .uint32(4_000_000_000))
        XCTAssertEqual(m["t.i32"], .int32(-2_000_000_000))
        XCTAssertEqual(m["t.u64"], .uint64(18_000_000_000_000_000_000))
        XCTAssertEqual(m["t.i64"], .int64(-9_000_000_000_000_000_000))
        XCTAssertEqual(m["t.f32"], .float32(0.1))
        XCTAssertEqual(m["t.f64"], .float64(-2.5e300))
        XCTAssertEqual(m["t.true"], .bool(true))
        XCTAssertEqual(m["t.false"], .bool(false))
        XCTAssertEqual(m["t.str"], .string("héllo, 世界 🌍"))
        XCTAssertEqual(m["t.empty"], .string(""))
        XCTAssertEqual(m["t.arr.u8"], .array(.uint8, [.uint8(0), .uint8(255)]))
        XCTAssertEqual(m["t.arr.i8"], .array(.int8, [.int8(-128), .int8(127)]))
        XCTAssertEqual(m["t.arr.u16"], .array(.uint16, [.uint16(1), .uint16(65535)]))
        XCTAssertEqual(m["t.arr.i16"], .array(.int16, [.int16(-32768), .int16(5)]))
        XCTAssertEqual(m["t.arr.u32"], .array(.uint32, [.uint32(7), .uint32(4_294_967_295)]))
        XCTAssertEqual(m["t.arr.i32"], .array(.int32, [.int32(-1), .int32(2), .int32(-3)]))
        XCTAssertEqual(m["t.arr.u64"], .array(.uint64, [.uint64(UInt64.max)]))
        XCTAssertEqual(m["t.arr.i64"], .array(.int64, [.int64(Int64.min), .int64(42)]))
        XCTAssertEqual(m["t.arr.f32"], .array(.float32, [.float32(1.5), .float32(-0.25)]))
        XCTAssertEqual(m["t.arr.f64"], .array(.float64, [.float64(1e-300), .float64(3.0)]))
        XCTAssertEqual(m["t.arr.bool"], .array(.bool, [.bool(true), .bool(false), .bool(true)]))
        XCTAssertEqual(m["t.arr.str"], .array(.string, [.string("a"), .string(""), .string("ünï")]))
        XCTAssertEqual(m["t.nested.ints"], .array(.array, [.array(.int32, [.int32(1), .int32(2)]),
                                                            .array(.int32, [.int32(3), .int32(4), .int32(5)])]))
        XCTAssertEqual(m["t.nested.strs"], .array(.array, [.array(.string, [.string("x")]),
                                                            .array(.string, [.string("y"), .string("z")])]))
        XCTAssertEqual(m["t.nested.deep"], .array(.array, [.array(.array, [.array(.float32, [.float32(1.5)]),
                                                                            .array(.float32, [.float32(2.5), .float32(3.5)])])]))
        XCTAssertEqual(f.metadataKeys.first, "general.architecture")
        XCTAssertEqual(f.metadataKeys.count, m.count)
    }

    func testAccessors() throws {
        let f = try GGUFFile(path: GGUFFixtures.path("metadata.gguf"))
        XCTAssertEqual(f["t.u8"]?.int, 200)
        XCTAssertEqual(f["t.i64"]?.int, -9_000_000_000_000_000_000)
        XCTAssertNil(f["t.u64"]?.int, "uint64 beyond Int.max has no Int value")
        XCTAssertEqual(f["t.f32"]?.float, 0.1)
        XCTAssertEqual(f["t.u16"]?.float, 60000)
        XCTAssertEqual(f["t.f64"]?.double, -2.5e300)
        XCTAssertEqual(f["t.true"]?.bool, true)
        XCTAssertNil(f["t.u8"]?.bool)
        XCTAssertEqual(f["t.str"]?.string, "héllo, 世界 🌍")
        XCTAssertNil(f["t.u8"]?.string)
        XCTAssertEqual(f["t.arr.str"]?.strings, ["a", "", "ünï"])
        XCTAssertEqual(f["t.arr.i32"]?.ints, [-1, 2, -3])
        XCTAssertEqual(f["t.arr.u16"]?.ints, [1, 65535])
        XCTAssertEqual(f["t.arr.f32"]?.floats, [1.5, -0.25])
        XCTAssertEqual(f["t.arr.i8"]?.floats, [-128, 127])
        XCTAssertNil(f["t.arr.str"]?.ints)
        XCTAssertNil(f["t.u8"]?.strings)
        XCTAssertEqual(f["t.nested.ints"]?.array?.count, 2)
        XCTAssertEqual(f["t.nested.ints"]?.array?[1].ints, [3, 4, 5])
        XCTAssertEqual(f["t.arr.bool"]?.type, .array)
        XCTAssertTrue(f["t.nested.deep"]!.description.hasPrefix("[array x 1]"))
    }

    func testCustomAlignment() throws {
        let f = try GGUFFile(path: GGUFFixtures.path("metadata.gguf"))
        XCTAssertEqual(f.alignment, 64)
        XCTAssertEqual(f.dataOffset % 64, 0)
        let a = try XCTUnwrap(f.tensor(named: "a")), b = try XCTUnwrap(f.tensor(named: "b"))
        XCTAssertEqual(a.offset, f.dataOffset)
        XCTAssertEqual(b.offset, f.dataOffset + 64)
        XCTAssertEqual(try f.decodeFloat32(a), [0, 1, 2, 3, 4])
        XCTAssertEqual(try f.decodeFloat32(b), [-0.0, -1, -2])
        XCTAssertNil(f.tensor(named: "c"))
    }

    func testDefaultAlignmentAndVersion2() throws {
        var b = GGUFBuilder()
        b.version = 2
        b.addString("general.architecture", "x")
        b.addTensor("t", dims: [2], type: 0, offset: 0)
        b.data = GGUFBuilder.u32(Float(1.5).bitPattern) + GGUFBuilder.u32(Float(-2).bitPattern)
        let dir = TempDir()
        let f = try GGUFFile(path: dir.write(b.bytes()))
        XCTAssertEqual(f.version, 2)
        XCTAssertEqual(f.alignment, 32)
        XCTAssertEqual(f.dataOffset % 32, 0)
        XCTAssertEqual(try f.decodeFloat32(f.tensors[0]), [1.5, -2])
    }

    func testEmptyArrayAndNoTensors() throws {
        var b = GGUFBuilder()
        b.add("empty", type: 9, payload: GGUFBuilder.u32(8) + GGUFBuilder.u64(0))
        let dir = TempDir()
        let f = try GGUFFile(path: dir.write(b.bytes()))
        XCTAssertEqual(f["empty"], .array(.string, []))
        XCTAssertEqual(f["empty"]?.strings, [])
        XCTAssertTrue(f.tensors.isEmpty)
    }
}
