#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

public enum MappedFileError: Error, CustomStringConvertible {
    case cannotOpen(String, String)
    case cannotMap(String, String)

    public var description: String {
        switch self {
        case .cannotOpen(let path, let why): return "cannot open \(path): \(why)"
        case .cannotMap(let path, let why): return "cannot memory-map \(path): \(why)"
        }
    }
}

/// A read-only memory map of a whole file. Checkpoints are read through maps so that a
/// 500 MB model costs page cache, not heap, until its tensors are decoded.
public final class MappedFile: @unchecked Sendable {
    public let path: String
    public let count: Int
    public let base: UnsafeRawPointer

    public init(path: String) throws {
        self.path = path
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { throw MappedFileError.cannotOpen(path, String(cString: strerror(errno))) }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw MappedFileError.cannotOpen(path, String(cString: strerror(errno))) }
        count = Int(st.st_size)
        if count == 0 {
            // mmap of zero bytes fails; an empty file is still a (malformed) file the readers report on.
            base = UnsafeRawPointer(UnsafeMutableRawPointer.allocate(byteCount: 1, alignment: 64))
            return
        }
        guard let p = mmap(nil, count, PROT_READ, MAP_PRIVATE, fd, 0), p != MAP_FAILED else {
            throw MappedFileError.cannotMap(path, String(cString: strerror(errno)))
        }
        base = UnsafeRawPointer(p)
    }

    deinit {
        if count == 0 { UnsafeMutableRawPointer(mutating: base).deallocate() } else { munmap(UnsafeMutableRawPointer(mutating: base), count) }
    }

    /// Drops the pages holding bytes [offset, offset+length) from this process (madvise
    /// DONTNEED): once a tensor is decoded its file pages need not count in the resident set, so
    /// streaming a checkpoint larger than memory does not grow with the file. The bytes stay
    /// readable (a later access reads them from the file again).
    public func releasePages(at offset: Int, count length: Int) {
        guard count > 0, length > 0, offset >= 0, offset + length <= count else { return }
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let start = offset / page * page
        let end = min(count, (offset + length + page - 1) / page * page)
        _ = madvise(UnsafeMutableRawPointer(mutating: base + start), end - start, Int32(MADV_DONTNEED))
    }

    /// Bytes [offset, offset+length) as a buffer; callers check bounds first.
    public func bytes(at offset: Int, count length: Int) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: base + offset, count: length)
    }
}
