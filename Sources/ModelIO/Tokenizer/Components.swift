import Foundation

// The pipeline stages of an HF `tokenizers` Tokenizer, restricted to what LLM tokenizers use.

// MARK: Normalizers

indirect enum Normalizer {
    case sequence([Normalizer])
    case prepend([UInt32])
    case replace(SplitPattern, [UInt32])
    case nfc, nfd, nfkc, nfkd
    case lowercase
    case strip(left: Bool, right: Bool)

    func apply(_ s: [UInt32]) -> [UInt32] {
        switch self {
        case .sequence(let list):
            var cur = s
            for n in list { cur = n.apply(cur) }
            return cur
        case .prepend(let p):
            return s.isEmpty ? s : p + s
        case .replace(let pattern, let content):
            let ms = pattern.matches(in: s[...])
            if ms.isEmpty { return s }
            var out: [UInt32] = []
            out.reserveCapacity(s.count)
            var last = 0
            for r in ms {
                out.append(contentsOf: s[last..<r.lowerBound])
                out.append(contentsOf: content)
                last = r.upperBound
            }
            out.append(contentsOf: s[last...])
            return out
        case .nfc: return scalars(of: string(from: s).precomposedStringWithCanonicalMapping)
        case .nfd: return scalars(of: string(from: s).decomposedStringWithCanonicalMapping)
        case .nfkc: return scalars(of: string(from: s).precomposedStringWithCompatibilityMapping)
        case .nfkd: return scalars(of: string(from: s).decomposedStringWithCompatibilityMapping)
        case .lowercase:
            var out: [UInt32] = []
            for v in s {
                guard let sc = Unicode.Scalar(v) else { out.append(v); continue }
                for l in sc.properties.lowercaseMapping.unicodeScalars { out.append(l.value) }
            }
            return out
        case .strip(let left, let right):
            var a = 0, b = s.count
            if left { while a < b && ScalarClass.isWhitespace(s[a]) { a += 1 } }
            if right { while b > a && ScalarClass.isWhitespace(s[b - 1]) { b -= 1 } }
            return Array(s[a..<b])
        }
    }
}

func scalars(of s: String) -> [UInt32] { s.unicodeScalars.map { $0.value } }

func string<S: Sequence>(from scalars: S) -> String where S.Element == UInt32 {
    var view = String.UnicodeScalarView()
    for v in scalars { view.append(Unicode.Scalar(v) ?? "\u{FFFD}") }
    return String(view)
}

// MARK: Pre-tokenizers

/// A piece of text on its way to the model.
struct Piece {
    var s: ArraySlice<UInt32>
    /// Starts at offset 0 of the original input (Metaspace's "first" prepend scheme).
    var atStart: Bool
    /// `s` is raw text; the model sees its byte-level spelling (set by the ByteLevel pre-tokenizer).
    var byteLevel: Bool

    /// The characters the model sees, spelled out.
    func materialized() -> Piece {
        guard byteLevel else { return self }
        var bytes: [UInt8] = []
        for v in s { appendUTF8(v, to: &bytes) }
        let spelled = bytes.map { ByteLevelAlphabet.byteToScalar[Int($0)] }
        return Piece(s: spelled[...], atStart: atStart, byteLevel: false)
    }
}

enum PrependScheme: String { case always, first, never }

indirect enum PreTokenizer {
    case sequence([PreTokenizer])
    case byteLevel(addPrefixSpace: Bool, useRegex: Bool)
    case split(SplitPattern, SplitBehavior, invert: Bool)
    case digits(individual: Bool)
    case metaspace(replacement: UInt32, scheme: PrependScheme, split: Bool)
    case whitespaceSplit

    func apply(_ pieces: [Piece]) -> [Piece] {
        switch self {
        case .sequence(let list):
            var cur = pieces
            for p in list { cur = p.apply(cur) }
            return cur
        case .byteLevel(let addPrefixSpace, let useRegex):
            var out: [Piece] = []
            out.reserveCapacity(pieces.count * 4)
            for p0 in pieces {
                var p = p0.materialized()
                if addPrefixSpace && p.s.first != 0x20 {
                    p.s = ([0x20] + Array(p.s))[...]
                }
                if useRegex {
                    for r in SplitPattern.gpt2.matches(in: p.s) {
                        out.append(Piece(s: p.s[r], atStart: p.atStart && r.lowerBound == p.s.startIndex, byteLevel: true))
                    }
                } else {
                    p.byteLevel = true
                    out.append(p)
                }
            }
            return out
        case .split(let pattern, let behavior, let invert):
            var out: [Piece] = []
            for p0 in pieces {
                let p = p0.materialized()
                let ranges = behavior.apply(pattern.matches(in: p.s), in: p.s, invert: invert)
                for r in ranges {
                    out.append(Piece(s: p.s[r], atStart: p.atStart && r.lowerBound == p.s.startIndex, byteLevel: false))
                }
            }
            return out
        case .digits(let individual):
            var out: [Piece] = []
            for p0 in pieces {
                let p = p0.materialized()
                var ms: [Range<Int>] = []
                for i in p.s.indices where ScalarClass.isNumber(p.s[i]) { ms.append(i..<(i + 1)) }
                let behavior: SplitBehavior = individual ? .isolated : .contiguous
                for r in behavior.apply(ms, in: p.s) {
                    out.append(Piece(s: p.s[r], atStart: p.atStart && r.lowerBound == p.s.startIndex, byteLevel: false))
                }
            }
            return out
        case .metaspace(let replacement, let scheme, let split):
            var out: [Piece] = []
            for p0 in pieces {
                let p = p0.materialized()
                var s = p.s.map { $0 == 0x20 ? replacement : $0 }
                switch scheme {
                case .always:
                    if s.first != replacement { s.insert(replacement, at: 0) }
                case .first:
                    if s.first != replacement && p.atStart { s.insert(replacement, at: 0) }
                case .never: break
                }
                if split {
                    var ms: [Range<Int>] = []
                    for i in s.indices where s[i] == replacement { ms.append(i..<(i + 1)) }
                    for r in SplitBehavior.mergedWithNext.apply(ms, in: s[...]) {
                        out.append(Piece(s: s[r], atStart: p.atStart && r.lowerBound == 0, byteLevel: false))
                    }
                } else if !s.isEmpty {
                    out.append(Piece(s: s[...], atStart: p.atStart, byteLevel: false))
                }
            }
            return out
        case .whitespaceSplit:
            var out: [Piece] = []
            for p0 in pieces {
                let p = p0.materialized()
                var i = p.s.startIndex
                while i < p.s.endIndex {
                    if ScalarClass.isWhitespace(p.s[i]) { i += 1; continue }
                    var j = i
                    while j < p.s.endIndex && !ScalarClass.isWhitespace(p.s[j]) { j += 1 }
                    out.append(Piece(s: p.s[i..<j], atStart: p.atStart && i == p.s.startIndex, byteLevel: false))
                    i = j
                }
            }
            return out
        }
    }
}

// MARK: Post-processor

/// What gets added around a single sequence (TemplateProcessing's `single`, Roberta/Bert's cls/sep).
struct PostProcessor {
    var prefix: [Int32] = []
    var suffix: [Int32] = []
}

// MARK: Decoders

indirect enum Decoder {
    case sequence([Decoder])
    case byteLevel
    case replace(String, String)
    case byteFallback
    case fuse
    case strip(content: Unicode.Scalar, start: Int, stop: Int)
    case metaspace(replacement: Unicode.Scalar, scheme: PrependScheme)

    func decodeChain(_ tokens: [String]) -> [String] {
        switch self {
        case .sequence(let list):
            var cur = tokens
            for d in list { cur = d.decodeChain(cur) }
            return cur
        case .byteLevel:
            var bytes: [UInt8] = []
            for t in tokens {
                if let b = ByteLevelAlphabet.bytes(of: t) {
                    bytes.append(contentsOf: b)
                } else {
                    bytes.append(contentsOf: Array(t.utf8))
                }
            }
            return [String(decoding: bytes, as: UTF8.self)]
        case .replace(let pattern, let content):
            return tokens.map { $0.replacingOccurrences(of: pattern, with: content) }
        case .byteFallback:
            var out: [String] = []
            var pending: [UInt8] = []
            func flush() {
                guard !pending.isEmpty else { return }
                if let s = String(validating: pending, as: UTF8.self) {
                    out.append(s)
                } else {
                    out.append(contentsOf: Array(repeating: "\u{FFFD}", count: pending.count))
                }
                pending.removeAll()
            }
            for t in tokens {
                let u = Array(t.utf8)
                if u.count == 6 && t.hasPrefix("<0x") && t.hasSuffix(">"),
                   let b = UInt8(String(decoding: u[3..<5], as: UTF8.self), radix: 16) {
                    pending.append(b)
                } else {
                    flush()
                    out.append(t)
                }
            }
            flush()
            return out
        case .fuse:
            return [tokens.joined()]
        case .strip(let content, let start, let stop):
            return tokens.map { t in
                let chars = Array(t.unicodeScalars)
                var a = 0
                for i in 0..<min(start, chars.count) {
                    if chars[i] == content { a = i + 1 } else { break }
                }
                var b = chars.count
                for i in 0..<min(stop, chars.count) {
                    let idx = chars.count - i - 1
                    if chars[idx] == content { b = idx } else { break }
                }
                return a < b ? String(String.UnicodeScalarView(chars[a..<b])) : ""
            }
        case .metaspace(let replacement, let scheme):
            return tokens.enumerated().map { (i, t) in
                var s = String.UnicodeScalarView()
                for c in t.unicodeScalars {
                    if c == replacement {
                        if !(i == 0 && scheme != .never) { s.append(" ") }
                    } else {
                        s.append(c)
                    }
                }
                return String(s)
            }
        }
    }
}

// MARK: Added tokens

struct AddedToken {
    var content: String
    var id: Int32
    var special: Bool
    var normalized: Bool
    var lstrip = false
    var rstrip = false
    var singleWord = false
}

/// Leftmost-longest matcher over a set of added tokens.
struct AddedTokenMatcher {
    struct Entry { let scalars: [UInt32]; let token: AddedToken }
    private var byFirst: [UInt32: [Entry]] = [:]
    var isEmpty: Bool { byFirst.isEmpty }

    init(_ tokens: [(pattern: [UInt32], token: AddedToken)]) {
        for (p, t) in tokens where !p.isEmpty {
            byFirst[p[0], default: []].append(Entry(scalars: p, token: t))
        }
        for k in byFirst.keys { byFirst[k]!.sort { $0.scalars.count > $1.scalars.count } }
    }

    /// Splits `s` into (range, token?) covering it, dropping empty ranges.
    func split(_ s: ArraySlice<UInt32>) -> [(Range<Int>, AddedToken?)] {
        if byFirst.isEmpty || s.isEmpty { return s.isEmpty ? [] : [(s.startIndex..<s.endIndex, nil)] }
        var out: [(Range<Int>, AddedToken?)] = []
        var startOffset = s.startIndex
        var i = s.startIndex
        while i < s.endIndex {
            guard let cands = byFirst[s[i]] else { i += 1; continue }
            var found: Entry? = nil
            for e in cands where i + e.scalars.count <= s.endIndex {
                if s[i..<(i + e.scalars.count)].elementsEqual(e.scalars) { found = e; break }
            }
            guard let e = found else { i += 1; continue }
            var start = i
            var stop = i + e.scalars.count
            i = stop
            let t = e.token
            if t.singleWord {
                let startOK = start == s.startIndex || !ScalarClass.isWord(s[start - 1])
                let stopOK = stop == s.endIndex || !ScalarClass.isWord(s[stop])
                if !startOK || !stopOK { continue }
            }
            if t.lstrip {
                var ns = start
                while ns > s.startIndex && ScalarClass.isWhitespace(s[ns - 1]) { ns -= 1 }
                start = max(ns, startOffset)
            }
            if t.rstrip {
                while stop < s.endIndex && ScalarClass.isWhitespace(s[stop]) { stop += 1 }
                i = stop
            }
            if startOffset < start { out.append((startOffset..<start, nil)) }
            out.append((start..<stop, t))
            startOffset = stop
        }
        if startOffset < s.endIndex { out.append((startOffset..<s.endIndex, nil)) }
        return out
    }
}
