import Foundation
import ModelIO

/// Writes a study report: `report.md` (tables, plots as `plots/*.svg` beside it) and a
/// self-contained `report.html` (inline CSS and SVG: no scripts, no external files or fonts).
/// Every file is written atomically.
public enum ReportWriter {
    public struct Written: Sendable {
        public var markdown: String
        public var html: String
        public var plots: [String]
    }

    @discardableResult
    public static func write(_ report: StudyReport, to directory: String) throws -> Written {
        let dir = URL(fileURLWithPath: directory)
        let plotsDir = dir.appendingPathComponent("plots")
        try FileManager.default.createDirectory(at: plotsDir, withIntermediateDirectories: true)
        var plotFiles: [String] = []
        for p in report.plots {
            let f = plotsDir.appendingPathComponent("\(p.id).svg").path
            try writeFileAtomically(Data(p.render().utf8), to: f)
            plotFiles.append(f)
        }
        let md = dir.appendingPathComponent("report.md").path, html = dir.appendingPathComponent("report.html").path
        try writeFileAtomically(Data(markdown(report).utf8), to: md)
        try writeFileAtomically(Data(self.html(report).utf8), to: html)
        return Written(markdown: md, html: html, plots: plotFiles)
    }

    public static func markdown(_ report: StudyReport) -> String {
        var s = "# \(report.title)\n\n"
        for n in report.notes { s += "- \(n)\n" }
        s += "\n"
        for t in report.tables {
            s += "## \(t.title)\n\n\(t.caption)\n\n"
            s += markdownTable(t) + "\n"
        }
        if !report.plots.isEmpty {
            s += "## Plots\n\n"
            for p in report.plots { s += "![\(p.title)](plots/\(p.id).svg)\n\n" }
        }
        return s
    }

    public static func markdownTable(_ t: ReportTable) -> String {
        func cell(_ c: String) -> String { c.replacingOccurrences(of: "|", with: "\\|").replacingOccurrences(of: "\n", with: " ") }
        var s = "| " + t.header.map(cell).joined(separator: " | ") + " |\n"
        s += "|" + t.header.enumerated().map { i, _ in i == 0 ? "---" : "---:" }.joined(separator: "|") + "|\n"
        for r in t.rows { s += "| " + r.map(cell).joined(separator: " | ") + " |\n" }
        return s
    }

    /// A plain-text table for a terminal (columns padded, numbers right-aligned).
    public static func textTable(_ t: ReportTable) -> String {
        let all = [t.header] + t.rows
        let widths = t.header.indices.map { i in all.map { i < $0.count ? $0[i].count : 0 }.max() ?? 0 }
        func line(_ r: [String]) -> String {
            r.enumerated().map { i, c in
                let pad = String(repeating: " ", count: max(0, (i < widths.count ? widths[i] : 0) - c.count))
                return i == 0 ? c + pad : pad + c
            }.joined(separator: "  ")
        }
        var s = line(t.header) + "\n" + widths.map { String(repeating: "-", count: $0) }.joined(separator: "  ") + "\n"
        for r in t.rows { s += line(r) + "\n" }
        return s
    }

    public static func html(_ report: StudyReport) -> String {
        var s = """
        <!DOCTYPE html>
        <html lang="en"><head><meta charset="utf-8"><title>\(esc(report.title))</title>
        <style>
        body { font-family: sans-serif; margin: 2em auto; max-width: 1200px; color: #222; }
        table { border-collapse: collapse; margin: 0.5em 0 1.5em; font-size: 13px; }
        th, td { border: 1px solid #ccc; padding: 3px 8px; }
        th { background: #f2f2f2; }
        td:not(:first-child) { text-align: right; font-variant-numeric: tabular-nums; }
        p.caption { color: #555; font-size: 13px; max-width: 60em; }
        .plots { display: flex; flex-wrap: wrap; gap: 12px; }
        </style></head><body>
        <h1>\(esc(report.title))</h1>
        <ul>
        """
        for n in report.notes { s += "<li>\(esc(n))</li>\n" }
        s += "</ul>\n"
        for t in report.tables {
            s += "<h2 id=\"\(esc(t.id))\">\(esc(t.title))</h2>\n<p class=\"caption\">\(esc(t.caption))</p>\n<table>\n<tr>"
            s += t.header.map { "<th>\(esc($0))</th>" }.joined() + "</tr>\n"
            for r in t.rows { s += "<tr>" + r.map { "<td>\(esc($0))</td>" }.joined() + "</tr>\n" }
            s += "</table>\n"
        }
        if !report.plots.isEmpty {
            s += "<h2 id=\"plots\">Plots</h2>\n<div class=\"plots\">\n"
            for p in report.plots { s += p.render() }
            s += "</div>\n"
        }
        s += "</body></html>\n"
        return s
    }
}
