import XCTest

/// Per tensor: max|Δ| ≤ 1e-4·max|g_ref| (the "1e-4 relative"), and elementwise
/// |Δ_i| ≤ 1e-3·|g_ref_i| + 1e-5·max|g_ref| (every entry, small ones included, at a
/// looser relative bound since float32 rounding of a near-zero entry is relative to the
/// tensor's scale, not the entry's).
func assertGradientsMatch(_ ours: [String: [Float]], _ ref: [String: [Float]], _ label: String, allowZero: Bool = false,
                          file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(Set(ours.keys), Set(ref.keys), "\(label): parameter sets differ", file: file, line: line)
    var worstRatio: Float = 0
    defer { print("\(label): \(ref.count) tensors, largest max|Δ|/max|g_ref| = \(worstRatio)") }
    for (name, r) in ref.sorted(by: { $0.key < $1.key }) {
        guard let o = ours[name], o.count == r.count else {
            XCTFail("\(label): \(name) missing or of the wrong size", file: file, line: line); continue
        }
        let scale = r.map(abs).max()!
        if !allowZero { XCTAssertGreaterThan(scale, 0, "\(label): \(name) reference gradient is all zero", file: file, line: line) }
        var worst: Float = 0, bad = 0
        for (a, b) in zip(o, r) {
            let d = abs(a - b)
            worst = max(worst, d)
            if d > 1e-3 * abs(b) + 1e-5 * scale { bad += 1 }
        }
        worstRatio = max(worstRatio, worst / scale)
        XCTAssertLessThanOrEqual(worst, 1e-4 * scale, "\(label): \(name) max|Δ| = \(worst), max|g| = \(scale)",
                                 file: file, line: line)
        XCTAssertEqual(bad, 0, "\(label): \(name) has \(bad) entries off elementwise", file: file, line: line)
    }
}
