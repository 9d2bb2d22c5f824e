import Foundation

/// A scatter/line plot drawn as a self-contained SVG (no scripts, no external fonts): axes with
/// ticks, one polyline per series through its points in x order, markers, a legend, and
/// optionally a Pareto front drawn over the points.
public struct SVGPlot {
    public struct Series {
        public var name: String
        public var points: [(x: Double, y: Double)]
        public var dashed = false
        /// Index into the palette; nil: the series' position. A report gives each method the
        /// same color in every plot.
        public var color: Int?

        public init(name: String, points: [(x: Double, y: Double)], dashed: Bool = false, color: Int? = nil) {
            self.name = name; self.points = points; self.dashed = dashed; self.color = color
        }
    }

    public var id: String
    public var title: String
    public var xLabel: String
    public var yLabel: String
    public var logY = false
    public var series: [Series]
    /// Points of the front, drawn as a thick step line and named in the legend.
    public var pareto: [(x: Double, y: Double)]?
    /// A horizontal reference line (e.g. the dense model's value), with its label.
    public var reference: (y: Double, label: String)?

    public init(id: String, title: String, xLabel: String, yLabel: String, logY: Bool = false, series: [Series]) {
        self.id = id; self.title = title; self.xLabel = xLabel; self.yLabel = yLabel; self.logY = logY; self.series = series
    }

    /// Twenty distinguishable colors (a study has up to about twenty method families).
    static let palette = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22", "#7f7f7f",
                          "#393b79", "#e6550d", "#31a354", "#756bb1", "#843c39", "#de9ed6", "#637939", "#3182bd", "#fd8d3c", "#000000"]

    /// Whether there is anything to draw.
    public var isEmpty: Bool { series.allSatisfy { $0.points.isEmpty } }

    public func render(width: Double = 640, height minimumHeight: Double = 400) -> String {
        let left = 70.0, right = 190.0, top = 36.0, bottom = 52.0
        // Tall enough for every legend line.
        let height = max(minimumHeight, top + 8 + 15 * Double(series.count + 1) + bottom)
        let pw = width - left - right, ph = height - top - bottom
        let all = series.flatMap(\.points).filter { $0.x.isFinite && $0.y.isFinite && (!logY || $0.y > 0) }
        func ty(_ y: Double) -> Double { logY ? log10(y) : y }
        var xs = all.map(\.x), ys = all.map { ty($0.y) }
        if let r = reference, r.y.isFinite, !logY || r.y > 0 { ys.append(ty(r.y)) }
        if xs.isEmpty { xs = [0, 1] }
        if ys.isEmpty { ys = [0, 1] }
        var (x0, x1) = (xs.min()!, xs.max()!), (y0, y1) = (ys.min()!, ys.max()!)
        if x1 - x0 <= 1e-9 * max(1, abs(x0)) { x0 -= max(0.5, abs(x0) * 0.05); x1 += max(0.5, abs(x1) * 0.05) }
        if y1 - y0 <= 1e-9 * max(1, abs(y0)) { y0 -= max(0.5, abs(y0) * 0.05); y1 += max(0.5, abs(y1) * 0.05) }
        let xPad = (x1 - x0) * 0.05, yPad = (y1 - y0) * 0.08
        x0 -= xPad; x1 += xPad; y0 -= yPad; y1 += yPad
        func px(_ x: Double) -> Double { left + (x - x0) / (x1 - x0) * pw }
        func py(_ y: Double) -> Double { top + ph - (ty(y) - y0) / (y1 - y0) * ph }
        func f(_ v: Double) -> String { String(format: "%.1f", v) }

        var s = "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"plot\" id=\"\(esc(id))\" width=\"\(f(width))\" height=\"\(f(height))\" viewBox=\"0 0 \(f(width)) \(f(height))\" font-family=\"sans-serif\" font-size=\"11\">\n"
        s += "<rect x=\"0\" y=\"0\" width=\"\(f(width))\" height=\"\(f(height))\" fill=\"#ffffff\"/>\n"
        s += "<text x=\"\(f(left + pw / 2))\" y=\"20\" text-anchor=\"middle\" font-size=\"13\" font-weight=\"bold\">\(esc(title))</text>\n"
        // Grid and ticks.
        for t in Self.ticks(x0, x1) {
            s += "<line x1=\"\(f(px(t)))\" y1=\"\(f(top))\" x2=\"\(f(px(t)))\" y2=\"\(f(top + ph))\" stroke=\"#e5e5e5\"/>"
            s += "<text x=\"\(f(px(t)))\" y=\"\(f(top + ph + 15))\" text-anchor=\"middle\">\(Self.label(t))</text>\n"
        }
        let yTicks = logY ? Self.logTicks(y0, y1) : Self.ticks(y0, y1)
        for t in yTicks {
            let yy = top + ph - (t - y0) / (y1 - y0) * ph
            s += "<line x1=\"\(f(left))\" y1=\"\(f(yy))\" x2=\"\(f(left + pw))\" y2=\"\(f(yy))\" stroke=\"#e5e5e5\"/>"
            s += "<text x=\"\(f(left - 6))\" y=\"\(f(yy + 4))\" text-anchor=\"end\">\(Self.label(logY ? pow(10, t) : t))</text>\n"
        }
        s += "<rect x=\"\(f(left))\" y=\"\(f(top))\" width=\"\(f(pw))\" height=\"\(f(ph))\" fill=\"none\" stroke=\"#333333\"/>\n"
        s += "<text x=\"\(f(left + pw / 2))\" y=\"\(f(height - 12))\" text-anchor=\"middle\">\(esc(xLabel))</text>\n"
        s += "<text transform=\"translate(16 \(f(top + ph / 2))) rotate(-90)\" text-anchor=\"middle\">\(esc(yLabel + (logY ? " (log scale)" : "")))</text>\n"
        if let r = reference, r.y.isFinite, !logY || r.y > 0 {
            s += "<line x1=\"\(f(left))\" y1=\"\(f(py(r.y)))\" x2=\"\(f(left + pw))\" y2=\"\(f(py(r.y)))\" stroke=\"#555555\" stroke-dasharray=\"2 3\"/>"
            s += "<text x=\"\(f(left + pw - 4))\" y=\"\(f(py(r.y) - 4))\" text-anchor=\"end\" fill=\"#555555\">\(esc(r.label))</text>\n"
        }
        // Series.
        var legendY = top + 4
        for (i, se) in series.enumerated() {
            let pts = se.points.filter { $0.x.isFinite && $0.y.isFinite && (!logY || $0.y > 0) }.sorted { $0.x < $1.x }
            guard !pts.isEmpty else { continue }
            let color = Self.palette[(se.color ?? i) % Self.palette.count]
            let d = pts.enumerated().map { j, p in "\(j == 0 ? "M" : "L")\(f(px(p.x))) \(f(py(p.y)))" }.joined(separator: " ")
            s += "<path class=\"series\" d=\"\(d)\" fill=\"none\" stroke=\"\(color)\" stroke-width=\"1.8\"\(se.dashed ? " stroke-dasharray=\"6 4\"" : "")/>\n"
            for p in pts {
                s += "<circle cx=\"\(f(px(p.x)))\" cy=\"\(f(py(p.y)))\" r=\"3.2\" fill=\"\(color)\"><title>\(esc(se.name)): \(Self.label(p.x)), \(Self.label(p.y))</title></circle>"
            }
            s += "\n"
            let lx = left + pw + 12
            s += "<line x1=\"\(f(lx))\" y1=\"\(f(legendY))\" x2=\"\(f(lx + 18))\" y2=\"\(f(legendY))\" stroke=\"\(color)\" stroke-width=\"2\"\(se.dashed ? " stroke-dasharray=\"4 3\"" : "")/>"
            s += "<text x=\"\(f(lx + 24))\" y=\"\(f(legendY + 4))\">\(esc(String(se.name.prefix(26))))</text>\n"
            legendY += 15
        }
        if let front = pareto, !front.isEmpty {
            let pts = front.sorted { $0.x < $1.x }
            var d = "M\(f(px(pts[0].x))) \(f(py(pts[0].y)))"
            for p in pts.dropFirst() { d += " H\(f(px(p.x))) V\(f(py(p.y)))" }
            s += "<path class=\"pareto\" d=\"\(d)\" fill=\"none\" stroke=\"#000000\" stroke-width=\"2.5\" stroke-opacity=\"0.55\"/>\n"
            for p in pts { s += "<circle cx=\"\(f(px(p.x)))\" cy=\"\(f(py(p.y)))\" r=\"5.5\" fill=\"none\" stroke=\"#000000\" stroke-width=\"1.5\"/>" }
            let lx = left + pw + 12
            s += "\n<line x1=\"\(f(lx))\" y1=\"\(f(legendY))\" x2=\"\(f(lx + 18))\" y2=\"\(f(legendY))\" stroke=\"#000000\" stroke-width=\"2.5\" stroke-opacity=\"0.55\"/>"
            s += "<text x=\"\(f(lx + 24))\" y=\"\(f(legendY + 4))\">Pareto front</text>\n"
        }
        s += "</svg>\n"
        return s
    }

    /// Points not dominated by another: no other point has smaller-or-equal x and larger-or-equal y
    /// with one of them strict (here: fewer bytes and higher accuracy are better).
    public static func paretoFront(_ points: [(x: Double, y: Double)]) -> [(x: Double, y: Double)] {
        let sorted = points.filter { $0.x.isFinite && $0.y.isFinite }.sorted { $0.x != $1.x ? $0.x < $1.x : $0.y > $1.y }
        var front: [(x: Double, y: Double)] = []
        for p in sorted where front.last.map({ p.y > $0.y }) ?? true { front.append(p) }
        return front
    }

    static func ticks(_ lo: Double, _ hi: Double, count: Int = 6) -> [Double] {
        let span = hi - lo
        guard span > 0, span.isFinite else { return [lo] }
        let raw = span / Double(count)
        let mag = pow(10, floor(log10(raw)))
        let step = [1.0, 2, 2.5, 5, 10].map { $0 * mag }.first { $0 >= raw } ?? raw
        let first = ceil(lo / step)
        var out: [Double] = []
        for i in 0..<(count * 3) {
            let t = (first + Double(i)) * step
            if t > hi + step * 1e-9 { break }
            out.append(abs(t) < step * 1e-9 ? 0 : t)
        }
        return out
    }

    /// Decades (and 2×, 5× within them when the range is short), as log10 values.
    static func logTicks(_ lo: Double, _ hi: Double) -> [Double] {
        var out: [Double] = []
        let mults: [Double] = hi - lo < 1.5 ? [1, 2, 5] : [1]
        var e = floor(lo)
        while e <= ceil(hi) {
            for m in mults { let v = e + log10(m); if v >= lo && v <= hi { out.append(v) } }
            e += 1
        }
        return out.isEmpty ? [lo, hi] : out
    }

    static func label(_ v: Double) -> String {
        let a = abs(v)
        if a >= 1e9 { return String(format: "%.3gG", v / 1e9) }
        if a >= 1e6 { return String(format: "%.3gM", v / 1e6) }
        if a >= 1e4 { return String(format: "%.3gk", v / 1e3) }
        if a >= 1000 { return String(format: "%.0f", v) }
        return String(format: "%.3g", v)
    }
}

/// Text escaped for XML/HTML.
func esc(_ s: String) -> String {
    var o = ""
    for c in s {
        switch c {
        case "&": o += "&amp;"
        case "<": o += "&lt;"
        case ">": o += "&gt;"
        case "\"": o += "&quot;"
        default: o.append(c)
        }
    }
    return o
}
