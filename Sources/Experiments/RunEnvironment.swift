import Foundation

/// The machine and build a run happened on: timings only compare within one environment.
public struct RunEnvironment: Codable, Sendable, Equatable {
    /// CPU model name (/proc/cpuinfo "model name" on Linux, machdep.cpu.brand_string on macOS); nil if unreadable.
    public var cpu: String?
    public var logicalCores: Int
    /// Worker threads the engine's kernels used in this run.
    public var threads: Int
    public var os: String
    public var secateurVersion: String
    /// The commit of the source tree this binary was built from; see `resolveGitCommit`.
    public var gitCommit: String?

    enum CodingKeys: String, CodingKey {
        case cpu, logicalCores = "logical_cores", threads, os, secateurVersion = "secateur_version", gitCommit = "git_commit"
    }

    // Unknown values are written as null, not left out: a reader sees that they were looked for.
    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(cpu, forKey: .cpu); try c.encode(logicalCores, forKey: .logicalCores); try c.encode(threads, forKey: .threads)
        try c.encode(os, forKey: .os); try c.encode(secateurVersion, forKey: .secateurVersion); try c.encode(gitCommit, forKey: .gitCommit)
    }

    public init(cpu: String?, logicalCores: Int, threads: Int, os: String, secateurVersion: String, gitCommit: String?) {
        self.cpu = cpu; self.logicalCores = logicalCores; self.threads = threads; self.os = os
        self.secateurVersion = secateurVersion; self.gitCommit = gitCommit
    }

    /// This process's environment, for a run that used `threads` workers.
    public static func current(threads: Int, environment: [String: String] = ProcessInfo.processInfo.environment) -> RunEnvironment {
        RunEnvironment(cpu: cpuModelName(), logicalCores: ProcessInfo.processInfo.activeProcessorCount, threads: threads,
                       os: ProcessInfo.processInfo.operatingSystemVersionString, secateurVersion: SecateurVersion.string,
                       gitCommit: resolveGitCommit(environment: environment))
    }

    /// A binary cannot know its commit at build time without a build plugin, so it is found at
    /// run time: `SECATEUR_GIT_COMMIT` if set (release builds and CI set it); else
    /// `git rev-parse HEAD` in the source tree this file was compiled from (`#filePath`), when
    /// that is still a git checkout on this machine; else nil. The second case reports the
    /// checkout's current HEAD, which is the build's commit only if nothing was committed since.
    public static func resolveGitCommit(environment: [String: String] = ProcessInfo.processInfo.environment,
                                        sourceFile: String = #filePath) -> String? {
        if let c = environment["SECATEUR_GIT_COMMIT"], !c.isEmpty { return c }
        let root = URL(fileURLWithPath: sourceFile).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        guard FileManager.default.fileExists(atPath: root.appendingPathComponent(".git").path) else { return nil }
        for git in ["/usr/bin/git", "/usr/local/bin/git", "/opt/homebrew/bin/git"] where FileManager.default.isExecutableFile(atPath: git) {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: git)
            p.arguments = ["-C", root.path, "rev-parse", "HEAD"]
            let out = Pipe()
            p.standardOutput = out
            p.standardError = FileHandle.nullDevice
            p.standardInput = FileHandle.nullDevice
            guard (try? p.run()) != nil else { return nil }
            let data = out.fileHandleForReading.readDataToEndOfFile()
            p.waitUntilExit()
            guard p.terminationStatus == 0 else { return nil }
            let s = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            return s.isEmpty ? nil : s
        }
        return nil
    }

    static func cpuModelName() -> String? {
        #if os(Linux)
        guard let text = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8) else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix("model name") {
            if let colon = line.firstIndex(of: ":") {
                return line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            }
        }
        return nil
        #else
        var size = 0
        guard sysctlbyname("machdep.cpu.brand_string", nil, &size, nil, 0) == 0, size > 0 else { return nil }
        var buf = [CChar](repeating: 0, count: size)
        guard sysctlbyname("machdep.cpu.brand_string", &buf, &size, nil, 0) == 0 else { return nil }
        return String(cString: buf)
        #endif
    }
}
