import Foundation

// libFuzzer's entry points. One binary holds every harness; the environment variable
// SECATEUR_FUZZ names the one to run (see fuzz/README.md), and SECATEUR_FUZZ_SEEDS=DIR
// writes the seed corpus instead of fuzzing.

nonisolated(unsafe) private var selected: FuzzHarness?

@_cdecl("LLVMFuzzerInitialize")
public func fuzzInitialize(_ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>) -> CInt {
    let env = ProcessInfo.processInfo.environment
    if let dir = env["SECATEUR_FUZZ_SEEDS"] {
        do {
            try SeedCorpus.write(to: dir)
            FileHandle.standardError.write(Data("wrote the seed corpus to \(dir)\n".utf8))
            exit(0)
        } catch {
            FileHandle.standardError.write(Data("cannot write the seed corpus: \(error)\n".utf8))
            exit(1)
        }
    }
    guard let name = env["SECATEUR_FUZZ"], let harness = FuzzHarness(rawValue: name) else {
        let names = FuzzHarness.allCases.map(\.rawValue).joined(separator: ", ")
        FileHandle.standardError.write(Data("set SECATEUR_FUZZ to one of: \(names)\n".utf8))
        exit(2)
    }
    selected = harness
    harness.prepare()
    return 0
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let input = Data(bytes: data, count: size)
    // Any thrown error is an accepted outcome (the reader refused the input); a crash, a
    // sanitizer report or a run over the time limit is a finding.
    selected?.run(input)
    return 0
}
