// Character classes used by the pre-tokenizer regexes of Hugging Face tokenizers.
//
// HF `tokenizers` runs its split regexes with Oniguruma on Rust `char`s, i.e. on Unicode scalars.
// There `\p{L}` / `\p{N}` are the general categories L* / N*, and `\s` is Oniguruma's Unicode
// space class: U+0009–U+000D, U+0085 and the categories Zs, Zl, Zp (the White_Space property).
// Swift's runtime has a newer Unicode version than that Oniguruma build (thousands of scalars
// assigned since are "other" there), so the classes come from a table generated from HF itself
// (OnigurumaClasses.swift), not from `Unicode.Scalar.Properties`.

@usableFromInline
struct ScalarClass {
    static let letter: UInt8 = 1
    static let number: UInt8 = 2
    static let whitespace: UInt8 = 4
    /// `\w` of the Rust regex crate (Alphabetic, M, Nd, Pc, Join_Control), used by AddedToken.single_word.
    static let word: UInt8 = 8

    /// Class flags of the Basic Multilingual Plane, computed once.
    static let bmp: [UInt8] = {
        var table = [UInt8](repeating: 0, count: 0x10000)
        for v in 0..<0x10000 {
            if let s = Unicode.Scalar(UInt32(v)) { table[v] = compute(s) }
        }
        return table
    }()

    /// L / N / whitespace as Oniguruma (inside HF tokenizers) sees them, from the generated table;
    /// `\w` from Swift's Unicode properties.
    static func compute(_ s: Unicode.Scalar) -> UInt8 {
        var flags = onigurumaClass(s.value)
        let p = s.properties
        switch p.generalCategory {
        case .nonspacingMark, .spacingMark, .enclosingMark, .decimalNumber, .connectorPunctuation:
            flags |= word
        default:
            if p.isAlphabetic || p.isJoinControl { flags |= word }
        }
        return flags
    }

    /// Binary search in the generated run table.
    static func onigurumaClass(_ v: UInt32) -> UInt8 {
        let runs = OnigurumaClasses.runs
        var lo = 0, hi = runs.count / 3
        while lo < hi {
            let mid = (lo + hi) / 2
            if runs[3 * mid + 1] < v { lo = mid + 1 } else { hi = mid }
        }
        if lo < runs.count / 3 && runs[3 * lo] <= v && v <= runs[3 * lo + 1] { return UInt8(runs[3 * lo + 2]) }
        return 0
    }

    @inline(__always)
    static func of(_ v: UInt32) -> UInt8 {
        if v < 0x10000 { return bmp[Int(v)] }
        guard let s = Unicode.Scalar(v) else { return 0 }
        return compute(s)
    }

    @inline(__always) static func isLetter(_ v: UInt32) -> Bool { of(v) & letter != 0 }
    @inline(__always) static func isNumber(_ v: UInt32) -> Bool { of(v) & number != 0 }
    @inline(__always) static func isWhitespace(_ v: UInt32) -> Bool { of(v) & whitespace != 0 }
    @inline(__always) static func isWord(_ v: UInt32) -> Bool { of(v) & word != 0 }
    /// `[^\s\p{L}\p{N}]`
    @inline(__always) static func isOther(_ v: UInt32) -> Bool { of(v) & (letter | number | whitespace) == 0 }
}

/// GPT-2's reversible byte → printable-character mapping (`bytes_to_unicode`).
enum ByteLevelAlphabet {
    /// byte → scalar value of its printable stand-in.
    static let byteToScalar: [UInt32] = {
        var bs: [Int] = Array(0x21...0x7E) + Array(0xA1...0xAC) + Array(0xAE...0xFF)
        var cs: [UInt32] = bs.map { UInt32($0) }
        var n: UInt32 = 0
        for b in 0..<256 where !bs.contains(b) {
            bs.append(b)
            cs.append(256 + n)
            n += 1
        }
        var table = [UInt32](repeating: 0, count: 256)
        for (b, c) in zip(bs, cs) { table[b] = c }
        return table
    }()

    /// scalar value → byte, for the 256 stand-ins (all below U+0144).
    static let scalarToByte: [Int16] = {
        var table = [Int16](repeating: -1, count: 0x200)
        for (b, c) in byteToScalar.enumerated() { table[Int(c)] = Int16(b) }
        return table
    }()

    @inline(__always)
    static func byte(for scalar: UInt32) -> UInt8? {
        guard scalar < 0x200 else { return nil }
        let b = scalarToByte[Int(scalar)]
        return b < 0 ? nil : UInt8(b)
    }

    /// True when every scalar of `s` is one of the 256 stand-ins.
    static func isSpelled(_ s: String) -> Bool {
        s.unicodeScalars.allSatisfy { byte(for: $0.value) != nil }
    }

    /// The byte-level spelling of arbitrary text: its UTF-8 bytes, each as its stand-in.
    static func spell(_ s: String) -> String {
        var out = String.UnicodeScalarView()
        for b in s.utf8 { out.append(Unicode.Scalar(byteToScalar[Int(b)])!) }
        return String(out)
    }

    /// Bytes of a byte-level spelled token, or nil when a scalar is not a stand-in.
    static func bytes(of token: String) -> [UInt8]? {
        var out: [UInt8] = []
        out.reserveCapacity(token.unicodeScalars.count)
        for s in token.unicodeScalars {
            guard let b = byte(for: s.value) else { return nil }
            out.append(b)
        }
        return out
    }
}
