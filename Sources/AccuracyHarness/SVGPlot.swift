/// An SVG scatter plot of case error against logit spread, both on log scales, one colour per
/// implementation, with a line through each implementation's largest error per decade of spread.
///
/// - x: the case's logit spread (max − min over finite logits); spread 0 (K = 1, ties, all
///   masked) sits in a separate column at the left, labelled "0".
/// - y: the case's ULP error, from 10^-3 (smaller errors are drawn there, labelled "≤1e-3") up;
///   exact outputs (error 0) sit in a band at the bottom labelled "0", special-value mismatches
///   in a band at the top labelled "special".
///
/// Deterministic: coordinates are computed with ``DeterministicMath`` and printed with one
/// decimal without the C library, points are drawn in implementation then case-key order.
public enum SVGPlot {
    /// Colours, cycled by implementation position (Tableau 10).
    public static let palette = ["#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f",
                                 "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac"]

    /// Renders the cells of `result` that `include` keeps (all by default).
    public static func render(_ result: HarnessResult, title: String? = nil,
                              include: (CellResult) -> Bool = { _ in true }) -> String {
        // Gather points per implementation.
        var series: [[CaseScore]] = result.implementations.map { _ in [] }
        for cell in result.cells where include(cell) {
            guard let i = result.implementations.firstIndex(of: cell.implementation) else { continue }
            series[i] += cell.accumulator.scores
        }
        series = series.map { $0.sorted { $0.key < $1.key } }
        let all = series.flatMap { $0 }

        // Axis ranges in decades.
        let xs = all.map(\.spread).filter { $0 > 0 }.map(DeterministicMath.log10)
        let ys = all.filter { !$0.specialMismatch && $0.ulps > 0 }.map { DeterministicMath.log10($0.ulps) }
        var x0 = (xs.min() ?? 0).rounded(.down)
        var x1 = (xs.max() ?? 1).rounded(.up)
        if x1 <= x0 { x1 = x0 + 1 }
        // Errors below 10^-3 ULP (all correctly rounded) are drawn at the floor.
        var y0 = Swift.max(Swift.min((ys.min() ?? -1).rounded(.down), -1), -3)
        var y1 = Swift.max((ys.max() ?? 1).rounded(.up), 1)
        if y1 <= y0 { y1 = y0 + 1 }
        x0 = Swift.max(x0, -400); x1 = Swift.min(x1, 400)
        y0 = Swift.max(y0, -400); y1 = Swift.min(y1, 400)

        // Layout.
        let width = 860.0, height = 520.0
        let left = 110.0, right = 690.0, top = 60.0, bottom = 440.0
        let zeroColumn = left - 40, zeroBand = bottom + 30, specialBand = top - 25
        func px(_ s: Double) -> Double {
            guard s > 0 else { return zeroColumn }
            let d = Swift.min(Swift.max(DeterministicMath.log10(s), x0), x1)
            return left + (d - x0) / (x1 - x0) * (right - left)
        }
        func pxDecade(_ d: Double) -> Double {
            left + (Swift.min(Swift.max(d, x0), x1) - x0) / (x1 - x0) * (right - left)
        }
        func py(_ score: CaseScore) -> Double {
            if score.specialMismatch { return specialBand }
            guard score.ulps > 0 else { return zeroBand }
            let d = Swift.min(Swift.max(DeterministicMath.log10(score.ulps), y0), y1)
            return bottom - (d - y0) / (y1 - y0) * (bottom - top)
        }
        func n(_ v: Double) -> String { NumberText.fixed(v, decimals: 1) }

        var svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(n(width))\" height=\"\(n(height))\" "
            + "viewBox=\"0 0 \(n(width)) \(n(height))\" font-family=\"sans-serif\" font-size=\"12\">\n"
        svg += "<rect x=\"0\" y=\"0\" width=\"\(n(width))\" height=\"\(n(height))\" fill=\"#ffffff\"/>\n"
        let heading = title ?? "ULP error against logit spread (seed \(NumberText.hex64(result.seed)))"
        svg += "<text x=\"\(n(width / 2))\" y=\"20.0\" text-anchor=\"middle\" font-size=\"15\">\(escape(heading))</text>\n"

        // Grid, ticks and labels.
        let xStep = tickStep(x1 - x0)
        let yStep = tickStep(y1 - y0)
        svg += "<g stroke=\"#dddddd\" stroke-width=\"1\">\n"
        var d = (x0 / xStep).rounded(.up) * xStep
        while d <= x1 {
            let x = left + (d - x0) / (x1 - x0) * (right - left)
            svg += "<line x1=\"\(n(x))\" y1=\"\(n(top))\" x2=\"\(n(x))\" y2=\"\(n(bottom))\"/>\n"
            d += xStep
        }
        d = (y0 / yStep).rounded(.up) * yStep
        while d <= y1 {
            let y = bottom - (d - y0) / (y1 - y0) * (bottom - top)
            svg += "<line x1=\"\(n(left))\" y1=\"\(n(y))\" x2=\"\(n(right))\" y2=\"\(n(y))\"/>\n"
            d += yStep
        }
        svg += "</g>\n"
        svg += "<rect x=\"\(n(left))\" y=\"\(n(top))\" width=\"\(n(right - left))\" height=\"\(n(bottom - top))\" "
            + "fill=\"none\" stroke=\"#333333\"/>\n"
        svg += "<g fill=\"#333333\">\n"
        d = (x0 / xStep).rounded(.up) * xStep
        while d <= x1 {
            let x = left + (d - x0) / (x1 - x0) * (right - left)
            svg += "<text x=\"\(n(x))\" y=\"\(n(zeroBand + 22))\" text-anchor=\"middle\">\(decade(d))</text>\n"
            d += xStep
        }
        svg += "<text x=\"\(n(zeroColumn))\" y=\"\(n(zeroBand + 22))\" text-anchor=\"middle\">0</text>\n"
        d = (y0 / yStep).rounded(.up) * yStep
        while d <= y1 {
            let y = bottom - (d - y0) / (y1 - y0) * (bottom - top)
            let label = (d == y0 && y0 == -3) ? "≤1e-3" : decade(d)
            svg += "<text x=\"\(n(zeroColumn - 12))\" y=\"\(n(y + 4))\" text-anchor=\"end\">\(label)</text>\n"
            d += yStep
        }
        svg += "<text x=\"\(n(zeroColumn - 12))\" y=\"\(n(zeroBand + 4))\" text-anchor=\"end\">0</text>\n"
        svg += "<text x=\"\(n(zeroColumn - 12))\" y=\"\(n(specialBand + 4))\" text-anchor=\"end\">special</text>\n"
        svg += "<text x=\"\(n((left + right) / 2))\" y=\"\(n(height - 8))\" text-anchor=\"middle\">"
            + "logit spread (max − min over finite logits)</text>\n"
        svg += "<text x=\"16.0\" y=\"\(n((top + bottom) / 2))\" text-anchor=\"middle\" "
            + "transform=\"rotate(-90 16.0 \(n((top + bottom) / 2)))\">ULP error (largest over the case's outputs)</text>\n"
        svg += "</g>\n"

        // Points and per-decade maximum lines.
        for (i, points) in series.enumerated() where !points.isEmpty {
            let colour = palette[i % palette.count]
            svg += "<g fill=\"\(colour)\" fill-opacity=\"0.55\" stroke=\"none\">\n"
            for p in points {
                svg += "<circle cx=\"\(n(px(p.spread)))\" cy=\"\(n(py(p)))\" r=\"2.5\"/>\n"
            }
            svg += "</g>\n"
            // Largest finite error per decade of spread (spread 0 in its own bin).
            var bins: [(bin: Int, worst: CaseScore)] = []
            for p in points where !p.specialMismatch {
                let bin = p.spread > 0 ? Int(DeterministicMath.log10(p.spread).rounded(.down)) : Int.min
                if let j = bins.firstIndex(where: { $0.bin == bin }) {
                    if p.ulps > bins[j].worst.ulps { bins[j].worst = p }
                } else {
                    bins.append((bin, p))
                }
            }
            bins.sort { $0.bin < $1.bin }
            if bins.count > 1 {
                let coords = bins.map { b -> String in
                    let x = b.bin == Int.min ? zeroColumn : pxDecade(Double(b.bin) + 0.5)
                    return "\(n(x)),\(n(py(b.worst)))"
                }
                svg += "<polyline fill=\"none\" stroke=\"\(colour)\" stroke-width=\"1.2\" stroke-opacity=\"0.8\" points=\"\(coords.joined(separator: " "))\"/>\n"
            }
        }

        // Legend.
        svg += "<g>\n"
        for (i, name) in result.implementations.enumerated() {
            let y = top + 10 + Double(i) * 20
            svg += "<rect x=\"\(n(right + 20))\" y=\"\(n(y - 9))\" width=\"12.0\" height=\"12.0\" fill=\"\(palette[i % palette.count])\"/>\n"
            svg += "<text x=\"\(n(right + 38))\" y=\"\(n(y + 1))\">\(escape(name))</text>\n"
        }
        svg += "</g>\n</svg>\n"
        return svg
    }

    /// Decades between ticks: 1, 2, 5, 10, 20, 50, … so that there are at most about 10 ticks.
    static func tickStep(_ range: Double) -> Double {
        var step = 1.0
        let mults = [2.0, 2.5, 2.0]
        var i = 0
        while range / step > 10 {
            step *= mults[i % 3]
            i += 1
        }
        return step
    }

    /// 10^k for a tick label: "1", "1e3", "1e-5".
    static func decade(_ d: Double) -> String {
        let k = Int(d.rounded())
        return k == 0 ? "1" : "1e\(k)"
    }

    /// XML text escaping.
    static func escape(_ s: String) -> String {
        var out = ""
        for ch in s {
            switch ch {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            default: out.append(ch)
            }
        }
        return out
    }
}
