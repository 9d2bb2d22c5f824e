import Foundation

/// Byte-pair-encoding model with HF `tokenizers` semantics: a word starts as one symbol per
/// character (or per byte for byte-level vocabularies); the adjacent pair with the lowest merge
/// rank is merged first, leftmost on ties, until no pair has a merge.
final class BPEModel: @unchecked Sendable {
    let vocab: [String: Int32]
    let idToToken: [String?]
    /// (left << 32 | right) → (rank << 32 | merged id)
    let merges: [UInt64: UInt64]
    let unkToken: String?
    let unkID: Int32?
    let fuseUnk: Bool
    let byteFallback: Bool
    let ignoreMerges: Bool
    let continuingSubwordPrefix: String?
    let endOfWordSuffix: String?

    /// Vocabulary id of each byte's byte-level stand-in (-1 when absent).
    let byteLevelIDs: [Int32]
    /// `<0xXX>` ids for byte fallback (-1 when absent).
    let byteFallbackIDs: [Int32]

    private var cache: [WordKey: [Int32]] = [:]
    private var scalarCache: [UInt32: Int32] = [:]
    private let lock = NSLock()
    static let cacheCapacity = 200_000

    init(vocab: [String: Int32], merges: [(String, String)], unkToken: String?, fuseUnk: Bool,
         byteFallback: Bool, ignoreMerges: Bool = false, continuingSubwordPrefix: String? = nil,
         endOfWordSuffix: String? = nil) throws {
        self.vocab = vocab
        var maxID: Int32 = -1
        for (_, id) in vocab { maxID = max(maxID, id) }
        var r = [String?](repeating: nil, count: Int(maxID) + 1)
        for (tok, id) in vocab { r[Int(id)] = tok }
        self.idToToken = r
        let prefix = continuingSubwordPrefix ?? ""
        var m: [UInt64: UInt64] = [:]
        m.reserveCapacity(merges.count)
        for (rank, (a, b)) in merges.enumerated() {
            guard let ia = vocab[a] else { throw TokenizerError.mergeTokenNotInVocabulary(a) }
            guard let ib = vocab[b] else { throw TokenizerError.mergeTokenNotInVocabulary(b) }
            let bStripped = (!prefix.isEmpty && b.hasPrefix(prefix)) ? String(b.dropFirst(prefix.count)) : b
            let merged = a + bStripped
            guard let inew = vocab[merged] else { throw TokenizerError.mergeTokenNotInVocabulary(merged) }
            m[UInt64(UInt32(ia)) << 32 | UInt64(UInt32(ib))] = UInt64(rank) << 32 | UInt64(UInt32(inew))
        }
        self.merges = m
        self.unkToken = unkToken
        self.unkID = unkToken.flatMap { vocab[$0] }
        self.fuseUnk = fuseUnk
        self.byteFallback = byteFallback
        self.ignoreMerges = ignoreMerges
        self.continuingSubwordPrefix = continuingSubwordPrefix
        self.endOfWordSuffix = endOfWordSuffix
        var bl = [Int32](repeating: -1, count: 256)
        var bf = [Int32](repeating: -1, count: 256)
        for b in 0..<256 {
            let stand = String(Character(Unicode.Scalar(ByteLevelAlphabet.byteToScalar[b])!))
            bl[b] = vocab[stand] ?? -1
            bf[b] = vocab[Self.byteFallbackNames[b]] ?? -1
        }
        self.byteLevelIDs = bl
        self.byteFallbackIDs = bf
    }

    /// "<0x00>" … "<0xFF>": the byte-fallback tokens' names (built once; Foundation's formatter
    /// per byte made every tokenizer load pay 256 format calls).
    static let byteFallbackNames: [String] = (0..<256).map { b in
        let hex = String(b, radix: 16, uppercase: true)
        return "<0x" + (hex.count == 1 ? "0" + hex : hex) + ">"
    }

    var simpleWords: Bool {
        (continuingSubwordPrefix ?? "").isEmpty && (endOfWordSuffix ?? "").isEmpty
    }

    // MARK: Encoding

    /// Tokens of a word given as raw text whose byte-level spelling is what the model sees.
    func tokenizeByteLevel(_ scalars: ArraySlice<UInt32>, into out: inout [Int32]) {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(scalars.count * 2)
        for v in scalars { appendUTF8(v, to: &bytes) }
        let key = WordKey(bytes: bytes, tag: 1)
        if let hit = cachedTokens(key) { out.append(contentsOf: hit); return }
        if !simpleWords || ignoreMerges {
            // Rare configurations go through the generic path on the spelled word.
            var spelled: [UInt32] = bytes.map { ByteLevelAlphabet.byteToScalar[Int($0)] }
            let res = tokenizeGenericUncached(spelled[...])
            spelled.removeAll()
            store(key, res)
            out.append(contentsOf: res)
            return
        }
        var symbols: [Int32] = []
        symbols.reserveCapacity(bytes.count)
        var unk: Int32? = nil
        for b in bytes {
            let id = byteLevelIDs[Int(b)]
            if id >= 0 {
                if let u = unk { symbols.append(u); unk = nil }
                symbols.append(id)
            } else {
                appendUnknown(ByteLevelAlphabet.byteToScalar[Int(b)], symbols: &symbols, unk: &unk)
            }
        }
        if let u = unk { symbols.append(u) }
        mergeAll(&symbols)
        store(key, symbols)
        out.append(contentsOf: symbols)
    }

    /// Tokens of a word given as the exact characters the model sees.
    func tokenize(_ scalars: ArraySlice<UInt32>, into out: inout [Int32]) {
        if scalars.isEmpty { return }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(scalars.count * 2)
        for v in scalars { appendUTF8(v, to: &bytes) }
        let key = WordKey(bytes: bytes, tag: 0)
        if let hit = cachedTokens(key) { out.append(contentsOf: hit); return }
        let res = tokenizeGenericUncached(scalars)
        // HF only caches words shorter than 256 bytes; results are identical either way.
        if bytes.count < 256 { store(key, res) }
        out.append(contentsOf: res)
    }

    private func cachedTokens(_ key: WordKey) -> [Int32]? {
        lock.lock(); defer { lock.unlock() }
        return cache[key]
    }

    private func store(_ key: WordKey, _ value: [Int32]) {
        lock.lock(); defer { lock.unlock() }
        if cache.count < BPEModel.cacheCapacity { cache[key] = value }
    }

    private func appendUnknown(_ scalar: UInt32, symbols: inout [Int32], unk: inout Int32?) {
        if byteFallback {
            var bytes: [UInt8] = []
            appendUTF8(scalar, to: &bytes)
            if bytes.allSatisfy({ byteFallbackIDs[Int($0)] >= 0 }) {
                if let u = unk { symbols.append(u); unk = nil }
                for b in bytes { symbols.append(byteFallbackIDs[Int(b)]) }
                return
            }
        }
        guard let unkID = unkID else { return }  // HF drops the character silently
        if let u = unk {
            if fuseUnk { return }
            symbols.append(u)
        }
        unk = unkID
    }

    private func scalarID(_ v: UInt32) -> Int32? {
        lock.lock()
        if let id = scalarCache[v] { lock.unlock(); return id >= 0 ? id : nil }
        lock.unlock()
        let s = String(Character(Unicode.Scalar(v) ?? "\u{FFFD}"))
        let id = vocab[s] ?? -1
        lock.lock(); scalarCache[v] = id; lock.unlock()
        return id >= 0 ? id : nil
    }

    private func tokenizeGenericUncached(_ scalars: ArraySlice<UInt32>) -> [Int32] {
        if ignoreMerges {
            let s = String(String.UnicodeScalarView(scalars.compactMap(Unicode.Scalar.init)))
            if let id = vocab[s] { return [id] }
        }
        var symbols: [Int32] = []
        symbols.reserveCapacity(scalars.count)
        var unk: Int32? = nil
        let prefix = continuingSubwordPrefix ?? ""
        let suffix = endOfWordSuffix ?? ""
        let plain = prefix.isEmpty && suffix.isEmpty
        var index = 0
        let count = scalars.count
        for v in scalars {
            var id: Int32?
            if plain {
                id = scalarID(v)
            } else {
                var s = String(Character(Unicode.Scalar(v) ?? "\u{FFFD}"))
                if index > 0 { s = prefix + s }
                if index == count - 1 { s += suffix }
                id = vocab[s]
            }
            if let id = id {
                if let u = unk { symbols.append(u); unk = nil }
                symbols.append(id)
            } else {
                appendUnknown(v, symbols: &symbols, unk: &unk)
            }
            index += 1
        }
        if let u = unk { symbols.append(u) }
        mergeAll(&symbols)
        return symbols
    }

    /// Applies merges in rank order (leftmost first on equal rank), in place.
    func mergeAll(_ symbols: inout [Int32]) {
        let n = symbols.count
        if n < 2 { return }
        if n <= 24 {
            mergeSmall(&symbols)
            return
        }
        // Linked list + min-heap of (rank << 32 | position).
        var next = [Int](repeating: 0, count: n)
        var prev = [Int](repeating: 0, count: n)
        var alive = [Bool](repeating: true, count: n)
        for i in 0..<n { next[i] = i + 1; prev[i] = i - 1 }
        var heap = MinHeap()
        for i in 0..<(n - 1) {
            if let m = merges[pairKey(symbols[i], symbols[i + 1])] {
                heap.push((m >> 32) << 32 | UInt64(i))
            }
        }
        while let top = heap.pop() {
            let rank = top >> 32
            let pos = Int(top & 0xFFFF_FFFF)
            guard alive[pos] else { continue }
            let nx = next[pos]
            guard nx < n else { continue }
            guard let m = merges[pairKey(symbols[pos], symbols[nx])], m >> 32 == rank else { continue }
            symbols[pos] = Int32(truncatingIfNeeded: m & 0xFFFF_FFFF)
            alive[nx] = false
            let nn = next[nx]
            next[pos] = nn
            if nn < n { prev[nn] = pos }
            let pv = prev[pos]
            if pv >= 0, let m2 = merges[pairKey(symbols[pv], symbols[pos])] {
                heap.push((m2 >> 32) << 32 | UInt64(pv))
            }
            if nn < n, let m3 = merges[pairKey(symbols[pos], symbols[nn])] {
                heap.push((m3 >> 32) << 32 | UInt64(pos))
            }
        }
        var out: [Int32] = []
        out.reserveCapacity(n)
        var i = 0
        while i < n { out.append(symbols[i]); i = next[i] }
        symbols = out
    }

    /// Quadratic variant for short words: rescans a rank array.
    private func mergeSmall(_ symbols: inout [Int32]) {
        var ranks = [UInt64](repeating: .max, count: symbols.count)
        for i in 0..<(symbols.count - 1) {
            ranks[i] = merges[pairKey(symbols[i], symbols[i + 1])] ?? .max
        }
        while symbols.count > 1 {
            var best = UInt64.max
            var at = -1
            for i in 0..<(symbols.count - 1) where ranks[i] < best {
                best = ranks[i]
                at = i
            }
            if at < 0 { break }
            symbols[at] = Int32(truncatingIfNeeded: best & 0xFFFF_FFFF)
            symbols.remove(at: at + 1)
            ranks.remove(at: at + 1)
            ranks[at] = at + 1 < symbols.count ? (merges[pairKey(symbols[at], symbols[at + 1])] ?? .max) : .max
            if at > 0 { ranks[at - 1] = merges[pairKey(symbols[at - 1], symbols[at])] ?? .max }
        }
    }

    @inline(__always) private func pairKey(_ a: Int32, _ b: Int32) -> UInt64 {
        UInt64(UInt32(bitPattern: a)) << 32 | UInt64(UInt32(bitPattern: b))
    }
}

@inline(__always)
func appendUTF8(_ v: UInt32, to bytes: inout [UInt8]) {
    if v < 0x80 {
        bytes.append(UInt8(v))
    } else if v < 0x800 {
        bytes.append(UInt8(0xC0 | (v >> 6)))
        bytes.append(UInt8(0x80 | (v & 0x3F)))
    } else if v < 0x10000 {
        bytes.append(UInt8(0xE0 | (v >> 12)))
        bytes.append(UInt8(0x80 | ((v >> 6) & 0x3F)))
        bytes.append(UInt8(0x80 | (v & 0x3F)))
    } else {
        bytes.append(UInt8(0xF0 | (v >> 18)))
        bytes.append(UInt8(0x80 | ((v >> 12) & 0x3F)))
        bytes.append(UInt8(0x80 | ((v >> 6) & 0x3F)))
        bytes.append(UInt8(0x80 | (v & 0x3F)))
    }
}

/// Cache key: a word's UTF-8 bytes with a precomputed hash.
struct WordKey: Hashable {
    let bytes: [UInt8]
    let hash: UInt64

    init(bytes: [UInt8], tag: UInt64) {
        self.bytes = bytes
        var h: UInt64 = 0xcbf2_9ce4_8422_2325 ^ tag
        for b in bytes { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
        self.hash = h
    }

    static func == (a: WordKey, b: WordKey) -> Bool { a.hash == b.hash && a.bytes == b.bytes }
    func hash(into hasher: inout Hasher) { hasher.combine(hash) }
}

/// Binary min-heap of UInt64.
struct MinHeap {
    private var items: [UInt64] = []

    mutating func push(_ v: UInt64) {
        items.append(v)
        var i = items.count - 1
        while i > 0 {
            let p = (i - 1) / 2
            if items[p] <= items[i] { break }
            items.swapAt(p, i)
            i = p
        }
    }

    mutating func pop() -> UInt64? {
        guard let first = items.first else { return nil }
        let last = items.removeLast()
        if !items.isEmpty {
            items[0] = last
            var i = 0
            let n = items.count
            while true {
                let l = 2 * i + 1, r = l + 1
                var m = i
                if l < n && items[l] < items[m] { m = l }
                if r < n && items[r] < items[m] { m = r }
                if m == i { break }
                items.swapAt(i, m)
                i = m
            }
        }
        return first
    }
}
