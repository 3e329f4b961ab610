import DAECore
import Foundation

/// The pictures a run writes, as PNG bytes.
public enum Pictures {
    /// Three rows of digits, `[n][784]` each in [0, 1]: originals, noisy inputs, reconstructions.
    public static func samples(original: [Float], noisy: [Float], denoised: [Float], count: Int, scale: Int = 4) -> Data {
        grid(rows: [original, noisy, denoised], count: count, scale: scale)
    }

    /// Rows of `count` digits each, `[count][784]` per row in [0, 1].
    public static func grid(rows: [[Float]], count: Int, scale: Int = 4) -> Data {
        let gap = 2 * scale, cell = Architecture.imageSide * scale, pixels = Architecture.imageSide * Architecture.imageSide
        var canvas = Canvas(width: count * (cell + gap) + gap, height: rows.count * (cell + gap) + gap, background: (60, 60, 60))
        for (row, images) in rows.enumerated() {
            for i in 0..<count {
                canvas.digit(images[(i * pixels)..<((i + 1) * pixels)], x: gap + i * (cell + gap), y: gap + row * (cell + gap), scale: scale)
            }
        }
        return PNG.encode(width: canvas.width, height: canvas.height, channels: 3, pixels: canvas.pixels)
    }

    /// Training (blue) and validation (orange) loss per epoch, with the y range and epochs labelled.
    public static func lossCurve(epochs: [Int], train: [Double], validation: [Double]) -> Data {
        let (width, height, left, right, top, bottom) = (720, 440, 90, 20, 30, 50)
        var canvas = Canvas(width: width, height: height)
        let values = (train + validation).filter(\.isFinite)
        let low = values.min() ?? 0, high = max(values.max() ?? 1, low + 1e-9)
        let first = epochs.first ?? 1, last = max(epochs.last ?? 1, first + 1)
        func point(_ epoch: Int, _ value: Double) -> (Int, Int)? {
            guard let x = Canvas.position(Double(epoch), low: Double(first), high: Double(last), span: width - left - right),
                  let y = Canvas.position(value, low: low, high: high, span: height - top - bottom) else { return nil }
            return (left + x, height - bottom - y)
        }
        canvas.line(left, top, left, height - bottom, Canvas.black)
        canvas.line(left, height - bottom, width - right, height - bottom, Canvas.black)
        for k in 0...4 {  // horizontal grid lines with their values
            let value = low + (high - low) * Double(k) / 4
            guard let (_, y) = point(first, value) else { continue }
            canvas.line(left + 1, y, width - right, y, (230, 230, 230))
            canvas.text(String(format: "%.4f", value), x: 8, y: y - 5)
        }
        canvas.text(String(first), x: left - 4, y: height - bottom + 10)
        canvas.text(String(last), x: width - right - 20, y: height - bottom + 10)
        canvas.text("EPOCH", x: width / 2 - 20, y: height - 22)
        for (series, color) in [(train, Canvas.palette[0]), (validation, Canvas.palette[1])] {
            for i in 1..<max(1, series.count) {
                guard let (x0, y0) = point(epochs[i - 1], series[i - 1]), let (x1, y1) = point(epochs[i], series[i]) else { continue }
                canvas.line(x0, y0, x1, y1, color, thickness: 3)
            }
            for (epoch, value) in zip(epochs, series) {
                guard let (x, y) = point(epoch, value) else { continue }
                canvas.fill(x: x - 3, y: y - 3, width: 7, height: 7, color)
            }
        }
        canvas.fill(x: width - 200, y: top, width: 14, height: 10, Canvas.palette[0])
        canvas.text("TRAIN", x: width - 180, y: top)
        canvas.fill(x: width - 110, y: top, width: 14, height: 10, Canvas.palette[1])
        canvas.text("VAL", x: width - 90, y: top)
        return PNG.encode(width: width, height: height, channels: 3, pixels: canvas.pixels)
    }

    /// A 2-d view of the latent space: one dot per image, coloured by its digit, with a legend
    /// and the axes' names (`axes`: horizontal, vertical).
    public static func latentScatter(points: [(Float, Float)], labels: [UInt8], axes: (String, String) = ("Z0", "Z1")) -> Data {
        let size = 640, margin = 30
        var canvas = Canvas(width: size, height: size)
        // Codes that are not finite numbers (a diverged model) are left out, never converted.
        let xs = points.map { Double($0.0) }.filter(\.isFinite), ys = points.map { Double($0.1) }.filter(\.isFinite)
        let (minX, maxX) = (xs.min() ?? 0, xs.max() ?? 1), (minY, maxY) = (ys.min() ?? 0, ys.max() ?? 1)
        for ((x, y), label) in zip(points, labels) {
            guard let dx = Canvas.position(Double(x), low: minX, high: maxX, span: size - 2 * margin),
                  let dy = Canvas.position(Double(y), low: minY, high: maxY, span: size - 2 * margin) else { continue }
            let px = margin + dx, py = size - margin - dy
            canvas.fill(x: px - 1, y: py - 1, width: 3, height: 3, Canvas.palette[Int(label) % 10])
        }
        for digit in 0..<10 {
            canvas.fill(x: 8 + digit * 30, y: 8, width: 10, height: 10, Canvas.palette[digit])
            canvas.text(String(digit), x: 20 + digit * 30, y: 8)
        }
        canvas.text(axes.0, x: size / 2 - 12, y: size - 16)
        canvas.text(axes.1, x: 4, y: size / 2 - 6)
        return PNG.encode(width: size, height: size, channels: 3, pixels: canvas.pixels)
    }
}
