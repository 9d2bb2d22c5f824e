import Foundation

/// A pattern that finds non-overlapping matches in a run of Unicode scalars, like the
/// `find_matches` of HF tokenizers' regexes. Ranges are indices into the slice given.
enum SplitPattern {
    /// `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`
    case gpt2
    /// `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`
    case llama3
    /// The Llama-3 pattern with single digits (`\p{N}` instead of `\p{N}{1,3}`): Qwen2 and relatives.
    case qwen2
    /// A literal string (Split with `{"String": ...}`).
    case literal([UInt32])
    /// Any other regex, run by NSRegularExpression (ICU): close to, but not guaranteed identical
    /// to, Oniguruma's behaviour.
    case regex(NSRegularExpression)

    static let gpt2Source = #"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"#
    static let llama3Source = #"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#

    static let qwen2Source = #"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#
    static let tekkenSource = #"[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+|[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+"#
    static let qwen35Source = #"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?[\p{L}\p{M}]+|\p{N}| ?[^\s\p{L}\p{M}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#
    static let gpt4oSource = #"[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?|[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+"#

    /// The pattern for a regex source, hand-written for the known ones.
    static func fromRegex(_ source: String) throws -> SplitPattern {
        if source == gpt2Source { return .gpt2 }
        if source == llama3Source { return .llama3 }
        if source == qwen2Source { return .qwen2 }
        do {
            return .regex(try NSRegularExpression(pattern: source, options: []))
        } catch {
            throw TokenizerError.unsupportedComponent(kind: "Split regex", type: source)
        }
    }

    /// Non-overlapping matches, left to right.
    func matches(in s: ArraySlice<UInt32>) -> [Range<Int>] {
        var out: [Range<Int>] = []
        switch self {
        case .gpt2:
            var i = s.startIndex
            while i < s.endIndex {
                let j = SplitPattern.gpt2Match(s, at: i)
                out.append(i..<j)
                i = j
            }
        case .llama3, .qwen2:
            let maxDigits: Int
            if case .qwen2 = self { maxDigits = 1 } else { maxDigits = 3 }
            var i = s.startIndex
            while i < s.endIndex {
                let j = SplitPattern.llama3Match(s, at: i, maxDigits: maxDigits)
                out.append(i..<j)
                i = j
            }
        case .literal(let lit):
            guard !lit.isEmpty else { return [] }
            var i = s.startIndex
            while i + lit.count <= s.endIndex {
                if s[i..<(i + lit.count)].elementsEqual(lit) {
                    out.append(i..<(i + lit.count))
                    i += lit.count
                } else {
                    i += 1
                }
            }
        case .regex(let re):
            // Work in UTF-16 and map back to scalar indices.
            var utf16: [UInt16] = []
            var scalarAtUTF16: [Int] = []
            utf16.reserveCapacity(s.count)
            var idx = s.startIndex
            for v in s {
                let sc = Unicode.Scalar(v) ?? "\u{FFFD}"
                for unit in UTF16.encode(sc)! {
                    utf16.append(unit)
                    scalarAtUTF16.append(idx)
                }
                idx += 1
            }
            scalarAtUTF16.append(s.endIndex)
            let ns = NSString(characters: utf16, length: utf16.count)
            for m in re.matches(in: ns as String, options: [], range: NSRange(location: 0, length: utf16.count)) {
                guard m.range.length > 0 else { continue }
                let a = scalarAtUTF16[m.range.location]
                let b = scalarAtUTF16[m.range.location + m.range.length]
                out.append(a..<b)
            }
        }
        return out
    }

    @inline(__always) private static func runEnd(_ s: ArraySlice<UInt32>, from i: Int, _ flag: UInt8) -> Int {
        var j = i
        while j < s.endIndex && ScalarClass.of(s[j]) & flag != 0 { j += 1 }
        return j
    }

    @inline(__always) private static func otherRunEnd(_ s: ArraySlice<UInt32>, from i: Int) -> Int {
        var j = i
        while j < s.endIndex && ScalarClass.isOther(s[j]) { j += 1 }
        return j
    }

    /// End of whitespace match at `i` for `\s+(?!\S)|\s+` (s[i] must be whitespace).
    @inline(__always) private static func whitespaceMatch(_ s: ArraySlice<UInt32>, at i: Int) -> Int {
        let j = runEnd(s, from: i, ScalarClass.whitespace)
        if j == s.endIndex { return j }
        if j - i >= 2 { return j - 1 }
        return j
    }

    private static let apostrophe: UInt32 = 0x27
    private static let space: UInt32 = 0x20

    /// End index of the GPT-2 regex match starting at `i` (every position matches something).
    static func gpt2Match(_ s: ArraySlice<UInt32>, at i: Int) -> Int {
        let n = s.endIndex
        let c = s[i]
        if c == apostrophe && i + 1 < n {
            let d = s[i + 1]
            switch d {
            case 0x73, 0x74, 0x6D, 0x64: return i + 2  // s t m d
            case 0x72, 0x76:  // re ve
                if i + 2 < n && s[i + 2] == 0x65 { return i + 3 }
            case 0x6C:  // ll
                if i + 2 < n && s[i + 2] == 0x6C { return i + 3 }
            default: break
            }
        }
        let k = (c == space && i + 1 < n) ? i + 1 : i
        let cls = ScalarClass.of(s[k])
        if cls & ScalarClass.letter != 0 { return runEnd(s, from: k, ScalarClass.letter) }
        if cls & ScalarClass.number != 0 { return runEnd(s, from: k, ScalarClass.number) }
        if cls & (ScalarClass.letter | ScalarClass.number | ScalarClass.whitespace) == 0 {
            return otherRunEnd(s, from: k)
        }
        // Here s[i] is whitespace (a space followed by whitespace, or another space character).
        if !ScalarClass.isWhitespace(c) {
            // Unreachable: every scalar is L, N, whitespace or other.
            return i + 1
        }
        return whitespaceMatch(s, at: i)
    }

    @inline(__always) private static func isCRLF(_ v: UInt32) -> Bool { v == 0x0D || v == 0x0A }

    /// End index of the Llama-3 regex match starting at `i`.
    static func llama3Match(_ s: ArraySlice<UInt32>, at i: Int, maxDigits: Int = 3) -> Int {
        let n = s.endIndex
        let c = s[i]
        if c == apostrophe && i + 1 < n {
            let d = s[i + 1]
            switch d {
            // Case-insensitive: Oniguruma folds U+017F LATIN SMALL LETTER LONG S to 's' too.
            case 0x73, 0x53, 0x17F, 0x74, 0x54, 0x6D, 0x4D, 0x64, 0x44: return i + 2
            case 0x72, 0x52, 0x76, 0x56:
                if i + 2 < n && (s[i + 2] == 0x65 || s[i + 2] == 0x45) { return i + 3 }
            case 0x6C, 0x4C:
                if i + 2 < n && (s[i + 2] == 0x6C || s[i + 2] == 0x4C) { return i + 3 }
            default: break
            }
        }
        let cls = ScalarClass.of(c)
        // [^\r\n\p{L}\p{N}]?\p{L}+
        if cls & (ScalarClass.letter | ScalarClass.number) == 0 && !isCRLF(c) && i + 1 < n
            && ScalarClass.isLetter(s[i + 1]) {
            return runEnd(s, from: i + 1, ScalarClass.letter)
        }
        if cls & ScalarClass.letter != 0 { return runEnd(s, from: i, ScalarClass.letter) }
        // \p{N}{1,3}
        if cls & ScalarClass.number != 0 {
            var j = i + 1
            while j < n && j < i + maxDigits && ScalarClass.isNumber(s[j]) { j += 1 }
            return j
        }
        // ` ?[^\s\p{L}\p{N}]+[\r\n]*`
        var k = -1
        if c == space && i + 1 < n && ScalarClass.isOther(s[i + 1]) {
            k = i + 1
        } else if ScalarClass.isOther(c) {
            k = i
        }
        if k >= 0 {
            var j = otherRunEnd(s, from: k)
            while j < n && isCRLF(s[j]) { j += 1 }
            return j
        }
        // Whitespace from here on.
        // `\s*[\r\n]+`: up to and including the last CR/LF of the whitespace run.
        let j = runEnd(s, from: i, ScalarClass.whitespace)
        var m = j - 1
        while m >= i {
            if isCRLF(s[m]) { return m + 1 }
            m -= 1
        }
        if j == i { return i + 1 }  // unreachable
        return whitespaceMatch(s, at: i)
    }
}

/// How a Split pre-tokenizer treats its matches (HF `SplitDelimiterBehavior`).
enum SplitBehavior: String {
    case removed = "Removed"
    case isolated = "Isolated"
    case mergedWithPrevious = "MergedWithPrevious"
    case mergedWithNext = "MergedWithNext"
    case contiguous = "Contiguous"

    /// Pieces of `s` given the matches found in it (empty pieces dropped).
    func apply(_ matchRanges: [Range<Int>], in s: ArraySlice<UInt32>, invert: Bool = false) -> [Range<Int>] {
        // Cover the whole slice with (range, isMatch).
        var parts: [(Range<Int>, Bool)] = []
        parts.reserveCapacity(matchRanges.count * 2 + 1)
        var last = s.startIndex
        for r in matchRanges {
            if last < r.lowerBound { parts.append((last..<r.lowerBound, invert)) }
            parts.append((r, !invert))
            last = r.upperBound
        }
        if last < s.endIndex { parts.append((last..<s.endIndex, invert)) }

        var out: [(Range<Int>, Bool)] = []  // (range, remove)
        switch self {
        case .isolated:
            out = parts.map { ($0.0, false) }
        case .removed:
            out = parts
        case .contiguous:
            var previous = false
            for (r, isMatch) in parts {
                if isMatch == previous, let lastPart = out.last {
                    out[out.count - 1] = (lastPart.0.lowerBound..<r.upperBound, false)
                } else {
                    out.append((r, false))
                }
                previous = isMatch
            }
        case .mergedWithPrevious:
            var previous = false
            for (r, isMatch) in parts {
                if isMatch && !previous, let lastPart = out.last {
                    out[out.count - 1] = (lastPart.0.lowerBound..<r.upperBound, false)
                } else {
                    out.append((r, false))
                }
                previous = isMatch
            }
        case .mergedWithNext:
            var previous = false
            for (r, isMatch) in parts.reversed() {
                if isMatch && !previous, let lastPart = out.last {
                    out[out.count - 1] = (r.lowerBound..<lastPart.0.upperBound, false)
                } else {
                    out.append((r, false))
                }
                previous = isMatch
            }
            out.reverse()
        }
        return out.compactMap { $0.1 || $0.0.isEmpty ? nil : $0.0 }
    }
}
