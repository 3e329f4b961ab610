import DAECore
/// An RGB raster to draw the run's pictures on: digits, lines, points and a few characters.
public struct Canvas {
    public let width: Int
    public let height: Int
    public private(set) var pixels: [UInt8]

    public typealias Color = (r: UInt8, g: UInt8, b: UInt8)
    public static let white: Color = (255, 255, 255)
    public static let black: Color = (0, 0, 0)
    public static let gray: Color = (170, 170, 170)
    /// Ten distinct colours (matplotlib's tab10), for the digit classes.
    public static let palette: [Color] = [(31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40), (148, 103, 189),
                                          (140, 86, 75), (227, 119, 194), (127, 127, 127), (188, 189, 34), (23, 190, 207)]

    public init(width: Int, height: Int, background: Color = Canvas.white) {
        self.width = width
        self.height = height
        pixels = [UInt8](repeating: 0, count: width * height * 3)
        for i in 0..<(width * height) { (pixels[3 * i], pixels[3 * i + 1], pixels[3 * i + 2]) = background }
    }

    public mutating func set(_ x: Int, _ y: Int, _ color: Color) {
        guard x >= 0, y >= 0, x < width, y < height else { return }
        let i = 3 * (y * width + x)
        (pixels[i], pixels[i + 1], pixels[i + 2]) = color
    }

    public mutating func fill(x: Int, y: Int, width w: Int, height h: Int, _ color: Color) {
        for yy in y..<(y + h) { for xx in x..<(x + w) { set(xx, yy, color) } }
    }

    /// Bresenham, `thickness` pixels wide.
    public mutating func line(_ x0: Int, _ y0: Int, _ x1: Int, _ y1: Int, _ color: Color, thickness: Int = 1) {
        var (x, y) = (x0, y0)
        let dx = abs(x1 - x0), dy = -abs(y1 - y0)
        let sx = x0 < x1 ? 1 : -1, sy = y0 < y1 ? 1 : -1
        var error = dx + dy
        while true {
            fill(x: x - thickness / 2, y: y - thickness / 2, width: thickness, height: thickness, color)
            if x == x1 && y == y1 { break }
            let e2 = 2 * error
            if e2 >= dy { error += dy; x += sx }
            if e2 <= dx { error += dx; y += sy }
        }
    }


    /// A 28 x 28 image with values in [0, 1] (1 = ink, drawn white on black as MNIST), `scale` times larger.
    public mutating func digit(_ values: ArraySlice<Float>, x: Int, y: Int, scale: Int) {
        let base = values.startIndex, side = Architecture.imageSide
        for row in 0..<side {
            for column in 0..<side {
                let v = UInt8(max(0, min(1, values[base + row * side + column])) * 255)
                fill(x: x + column * scale, y: y + row * scale, width: scale, height: scale, (v, v, v))
            }
        }
    }

    /// Text in a 3 x 5 pixel font (digits, capitals, '.', ',', '-', ':', parentheses and 'e'),
    /// `scale` times larger.
    public mutating func text(_ string: String, x: Int, y: Int, scale: Int = 2, _ color: Color = Canvas.black) {
        var cursor = x
        for character in string {
            if let rows = Canvas.font[character] {
                for (r, bits) in rows.enumerated() {
                    for c in 0..<3 where bits & (4 >> c) != 0 {
                        fill(x: cursor + c * scale, y: y + r * scale, width: scale, height: scale, color)
                    }
                }
            }
            cursor += 4 * scale
        }
    }

    /// Each glyph: five rows of three bits, left to right.
    static let font: [Character: [UInt8]] = [
        "0": [7, 5, 5, 5, 7], "1": [2, 6, 2, 2, 7], "2": [7, 1, 7, 4, 7], "3": [7, 1, 7, 1, 7], "4": [5, 5, 7, 1, 1],
        "5": [7, 4, 7, 1, 7], "6": [7, 4, 7, 5, 7], "7": [7, 1, 1, 1, 1], "8": [7, 5, 7, 5, 7], "9": [7, 5, 7, 1, 7],
        ".": [0, 0, 0, 0, 2], "-": [0, 0, 7, 0, 0], "e": [0, 7, 7, 4, 7], " ": [0, 0, 0, 0, 0],
        "E": [7, 4, 7, 4, 7], "P": [7, 5, 7, 4, 4], "O": [7, 5, 5, 5, 7], "C": [7, 4, 4, 4, 7], "H": [5, 5, 7, 5, 5],
        "T": [7, 2, 2, 2, 2], "R": [7, 5, 6, 5, 5], "A": [7, 5, 7, 5, 5], "I": [7, 2, 2, 2, 7], "N": [7, 5, 5, 5, 5],
        "V": [5, 5, 5, 5, 2], "L": [4, 4, 4, 4, 7], "S": [7, 4, 7, 1, 7], "D": [6, 5, 5, 5, 6], "Y": [5, 5, 2, 2, 2],
        "X": [5, 5, 2, 5, 5], "M": [5, 7, 7, 5, 5], "Z": [7, 1, 2, 4, 7], ":": [0, 2, 0, 2, 0],
        "U": [5, 5, 5, 5, 7], "G": [7, 4, 5, 5, 7], "F": [7, 4, 6, 4, 4], "B": [6, 5, 6, 5, 6], "W": [5, 5, 7, 7, 5],
        "K": [5, 5, 6, 5, 5], "(": [1, 2, 2, 2, 1], ")": [4, 2, 2, 2, 4], ",": [0, 0, 0, 2, 4],
    ]


    /// Where `value` falls on an axis of `span` pixels running from `low` to `high`: a pixel in
    /// 0...span (values outside the range at its ends, all at the middle when the range is
    /// empty), or nil for a value that is not a finite number. Any Double is safe: the one
    /// conversion to Int every plot makes goes through here.
    public static func position(_ value: Double, low: Double, high: Double, span: Int) -> Int? {
        guard value.isFinite, low.isFinite, high.isFinite else { return nil }
        let range = high - low
        let fraction = range > 0 && range.isFinite ? (value - low) / range : 0.5
        guard fraction.isFinite else { return nil }
        return Int((Double(span) * min(1, max(0, fraction))).rounded(.down))
    }
}
