import Foundation

extension Pictures {
    /// Two distributions of one quantity overlaid (blue, orange), as bars over `bins` equal
    /// bins from the smallest to the largest value, each normalised to its own count, with
    /// the axes labelled, and an optional vertical marker (say, a threshold).
    public static func histogram(_ first: [Double], _ second: [Double], labels: (String, String), xLabel: String,
                                 marker: Double? = nil, bins: Int = 40) -> Data {
        let (width, height, left, right, top, bottom) = (720, 440, 70, 20, 40, 60)
        var canvas = Canvas(width: width, height: height)
        let values = (first + second).filter(\.isFinite)
        let low = values.min() ?? 0, high = max(values.max() ?? 1, low + 1e-12)
        func fractions(_ series: [Double]) -> [Double] {
            var counts = [Double](repeating: 0, count: bins)
            for value in series {
                if let bin = Canvas.position(value, low: low, high: high, span: bins) { counts[min(bins - 1, bin)] += 1 }
            }
            return counts.map { $0 / Double(max(1, series.count)) }
        }
        let (a, b) = (fractions(first), fractions(second))
        let peak = max(a.max() ?? 0, b.max() ?? 0, 1e-12)
        let plotWidth = width - left - right, plotHeight = height - top - bottom
        let barWidth = max(1, plotWidth / bins)
        for (series, color, offset) in [(a, Canvas.palette[0], 0), (b, Canvas.palette[1], barWidth / 2)] {
            for (i, fraction) in series.enumerated() where fraction > 0 {
                let h = max(1, Int(Double(plotHeight) * fraction / peak))
                canvas.fill(x: left + i * barWidth + offset, y: top + plotHeight - h, width: max(1, barWidth / 2), height: h, color)
            }
        }
        canvas.line(left, top, left, height - bottom, Canvas.black)
        canvas.line(left, height - bottom, width - right, height - bottom, Canvas.black)
        if let marker, marker >= low, marker <= high, let x = Canvas.position(marker, low: low, high: high, span: plotWidth).map({ left + $0 }) {
            canvas.line(x, top, x, height - bottom, Canvas.black, thickness: 2)
        }
        canvas.text(String(format: "%.4f", low), x: left - 20, y: height - bottom + 8)
        canvas.text(String(format: "%.4f", high), x: width - right - 60, y: height - bottom + 8)
        canvas.text(xLabel, x: left + plotWidth / 2 - 4 * xLabel.count, y: height - 26)
        canvas.text(String(format: "%.2f", peak), x: 8, y: top)
        canvas.text("0", x: left - 14, y: height - bottom - 10)
        canvas.text("FRACTION", x: 8, y: top + 16)
        canvas.fill(x: left + 10, y: 12, width: 14, height: 10, Canvas.palette[0])
        canvas.text(labels.0, x: left + 30, y: 12)
        canvas.fill(x: left + 250, y: 12, width: 14, height: 10, Canvas.palette[1])
        canvas.text(labels.1, x: left + 270, y: 12)
        return PNG.encode(width: width, height: height, channels: 3, pixels: canvas.pixels)
    }
}
