#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

/// Writes a file atomically: the bytes go to a temporary file in the destination's
/// directory, which is flushed and renamed over the destination only when complete.
/// A crash or error leaves any previous file untouched and no partial file behind.
final class AtomicFileWriter {
    let path: String
    private let tempPath: String
    private var fd: Int32
    private var buffer: [UInt8] = []
    private let bufferLimit = 1 << 20

    init(path: String) throws {
        self.path = path
        let url = URL(fileURLWithPath: path)
        let dir = url.deletingLastPathComponent().path
        StaleTemporaries.sweep(for: path)
        let tempName = ".\(url.lastPathComponent).tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        tempPath = (dir as NSString).appendingPathComponent(tempName)
        fd = open(tempPath, O_WRONLY | O_CREAT | O_EXCL, 0o644)
        guard fd >= 0 else {
            throw SafetensorsError.writeFailed(path: path, reason: "cannot create temporary file in \(dir): \(String(cString: strerror(errno)))")
        }
        buffer.reserveCapacity(bufferLimit)
    }

    deinit {
        if fd >= 0 { close(fd); unlink(tempPath) }
    }

    func write(_ bytes: UnsafeRawBufferPointer) throws {
        if buffer.count + bytes.count > bufferLimit { try flush() }
        if bytes.count >= bufferLimit {
            try writeAll(bytes)
        } else {
            buffer.append(contentsOf: bytes)
        }
    }

    func write(_ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { try write($0) }
    }

    private func flush() throws {
        if buffer.isEmpty { return }
        try buffer.withUnsafeBytes { try writeAll($0) }
        buffer.removeAll(keepingCapacity: true)
    }

    private func writeAll(_ bytes: UnsafeRawBufferPointer) throws {
        var offset = 0
        while offset < bytes.count {
            let n = Glibc_or_Darwin_write(fd, bytes.baseAddress! + offset, bytes.count - offset)
            if n < 0 {
                if errno == EINTR { continue }
                throw SafetensorsError.writeFailed(path: path, reason: String(cString: strerror(errno)))
            }
            offset += n
        }
    }

    /// Flushes, syncs and renames the temporary file into place.
    func commit() throws {
        try flush()
        guard fsync(fd) == 0 else { throw SafetensorsError.writeFailed(path: path, reason: "fsync: \(String(cString: strerror(errno)))") }
        close(fd)
        fd = -1
        guard rename(tempPath, path) == 0 else {
            let why = String(cString: strerror(errno))
            unlink(tempPath)
            throw SafetensorsError.writeFailed(path: path, reason: "rename: \(why)")
        }
    }
}

@inline(__always)
private func Glibc_or_Darwin_write(_ fd: Int32, _ p: UnsafeRawPointer, _ n: Int) -> Int {
    #if canImport(Glibc)
    return Glibc.write(fd, p, n)
    #else
    return Darwin.write(fd, p, n)
    #endif
}

/// Writes `data` to `path` atomically (temporary file in the same directory + rename).
public func writeFileAtomically(_ data: Data, to path: String) throws {
    let w = try AtomicFileWriter(path: path)
    try data.withUnsafeBytes { try w.write($0) }
    try w.commit()
}
