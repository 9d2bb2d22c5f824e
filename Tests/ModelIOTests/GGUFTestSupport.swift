import Foundation
import XCTest
@testable import ModelIO

/// Shared helpers for the GGUF tests: fixture paths, raw float32 files, temp files,
/// and a byte-level builder for hand-made (often deliberately broken) GGUF files.
enum GGUFFixtures {
    static let dir: String = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/gguf").path

    static func path(_ name: String) -> String { dir + "/" + name }

    /// Raw little-endian float32 file.
    static func floats(_ name: String) throws -> [Float] {
        let data = try Data(contentsOf: URL(fileURLWithPath: path(name)))
        precondition(data.count % 4 == 0)
        return data.withUnsafeBytes { raw in
            (0..<(data.count / 4)).map { Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 4 * $0, as: UInt32.self))) }
        }
    }

    static func bytes(_ name: String) throws -> [UInt8] {
        [UInt8](try Data(contentsOf: URL(fileURLWithPath: path(name))))
    }
}

/// A temporary directory removed when the object dies.
final class TempDir {
    let path: String
    init() {
        // Tests write thousands of small files; /dev/shm (tmpfs) is much faster than disk where present.
        var isDir: ObjCBool = false
        let base = FileManager.default.fileExists(atPath: "/dev/shm", isDirectory: &isDir) && isDir.boolValue
            && access("/dev/shm", W_OK) == 0 ? "/dev/shm/" : NSTemporaryDirectory()
        path = base + "gguf-tests-" + UUID().uuidString
        try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }
    deinit { try? FileManager.default.removeItem(atPath: path) }

    func write(_ bytes: [UInt8], name: String = "f.gguf") -> String {
        let p = path + "/" + name
        writeFile(p, bytes[...])
        return p
    }
}

/// Plain (non-atomic, fast) file write.
func writeFile(_ path: String, _ bytes: ArraySlice<UInt8>) {
    guard let fp = fopen(path, "wb") else { fatalError("cannot write \(path)") }
    bytes.withUnsafeBytes { _ = fwrite($0.baseAddress, 1, $0.count, fp) }
    fclose(fp)
}

/// Asserts bit-identical floats (NaNs must match bit for bit too).
func assertBitEqual(_ a: [Float], _ b: [Float], _ what: String, file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(a.count, b.count, "\(what): count", file: file, line: line)
    var bad = 0
    for i in 0..<min(a.count, b.count) where a[i].bitPattern != b[i].bitPattern {
        if bad < 5 { XCTFail("\(what)[\(i)]: got \(a[i]) (0x\(String(a[i].bitPattern, radix: 16))), expected \(b[i]) (0x\(String(b[i].bitPattern, radix: 16)))", file: file, line: line) }
        bad += 1
    }
    if bad > 5 { XCTFail("\(what): \(bad) mismatches in all", file: file, line: line) }
}

/// Runs `body`, expecting a GGUFError; returns it (or nil after recording a failure).
@discardableResult
func expectGGUFError(_ what: String, file: StaticString = #filePath, line: UInt = #line, _ body: () throws -> Void) -> GGUFError? {
    do {
        try body()
        XCTFail("\(what): no error thrown", file: file, line: line)
    } catch let e as GGUFError {
        XCTAssertFalse(e.description.contains("\n"), "\(what): message should be one line: \(e)", file: file, line: line)
        return e
    } catch {
        XCTFail("\(what): expected GGUFError, got \(type(of: error)): \(error)", file: file, line: line)
    }
    return nil
}

/// Writes GGUF bytes field by field, so tests can make any (in)valid file.
struct GGUFBuilder {
    var magic: [UInt8] = Array("GGUF".utf8)
    var version: UInt32 = 3
    var kv: [[UInt8]] = []           // encoded key + type + value
    var tensorInfos: [[UInt8]] = []   // encoded tensor infos
    var tensorCountOverride: UInt64?
    var kvCountOverride: UInt64?
    var alignment = 32
    var data: [UInt8] = []

    static func u32(_ v: UInt32) -> [UInt8] { withUnsafeBytes(of: v.littleEndian) { Array($0) } }
    static func u64(_ v: UInt64) -> [UInt8] { withUnsafeBytes(of: v.littleEndian) { Array($0) } }
    static func str(_ s: String) -> [UInt8] { u64(UInt64(s.utf8.count)) + Array(s.utf8) }

    mutating func add(_ key: String, type: UInt32, payload: [UInt8]) {
        kv.append(GGUFBuilder.str(key) + GGUFBuilder.u32(type) + payload)
    }
    mutating func addString(_ key: String, _ value: String) { add(key, type: 8, payload: GGUFBuilder.str(value)) }
    mutating func addU32(_ key: String, _ value: UInt32) { add(key, type: 4, payload: GGUFBuilder.u32(value)) }
    mutating func addF32(_ key: String, _ value: Float) { add(key, type: 6, payload: GGUFBuilder.u32(value.bitPattern)) }

    mutating func addTensor(_ name: String, dims: [UInt64], type: UInt32, offset: UInt64) {
        var b = GGUFBuilder.str(name) + GGUFBuilder.u32(UInt32(dims.count))
        for d in dims { b += GGUFBuilder.u64(d) }
        b += GGUFBuilder.u32(type) + GGUFBuilder.u64(offset)
        tensorInfos.append(b)
    }

    func bytes() -> [UInt8] {
        var out = magic + GGUFBuilder.u32(version)
        out += GGUFBuilder.u64(tensorCountOverride ?? UInt64(tensorInfos.count))
        out += GGUFBuilder.u64(kvCountOverride ?? UInt64(kv.count))
        for k in kv { out += k }
        for t in tensorInfos { out += t }
        if !tensorInfos.isEmpty || !data.isEmpty {
            while out.count % alignment != 0 { out.append(0) }
            out += data
        }
        return out
    }
}
