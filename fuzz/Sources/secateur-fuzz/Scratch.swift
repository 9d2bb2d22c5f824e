import Foundation

/// A private directory for the files an input is written to: the readers take paths, and
/// memory-mapping a real file is part of what is tested. Cleared before each input.
enum Scratch {
    static let root: String = {
        let base = FileManager.default.fileExists(atPath: "/dev/shm") ? "/dev/shm" : NSTemporaryDirectory()
        let dir = (base as NSString).appendingPathComponent("secateur-fuzz-\(getpid())")
        try? FileManager.default.removeItem(atPath: dir)
        try! FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        atexit { try? FileManager.default.removeItem(atPath: Scratch.root) }
        return dir
    }()

    /// An empty directory for this input (the same path each time).
    static func directory(_ name: String = "input") -> String {
        let dir = (root as NSString).appendingPathComponent(name)
        try? FileManager.default.removeItem(atPath: dir)
        try! FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }

    /// Writes `data` to `relative` under `directory`, creating subdirectories.
    @discardableResult
    static func write(_ data: Data, _ relative: String, in directory: String) -> String {
        let path = (directory as NSString).appendingPathComponent(relative)
        try? FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent,
                                                 withIntermediateDirectories: true)
        FileManager.default.createFile(atPath: path, contents: data)
        return path
    }
}

extension Data {
    /// Splits at each occurrence of `separator` (how one input carries several files).
    func parts(separatedBy separator: String) -> [Data] {
        let sep = Data(separator.utf8)
        var out: [Data] = []
        var start = startIndex
        while let r = self.range(of: sep, in: start..<endIndex) {
            out.append(self[start..<r.lowerBound])
            start = r.upperBound
        }
        out.append(self[start..<endIndex])
        return out.map { Data($0) }
    }
}
