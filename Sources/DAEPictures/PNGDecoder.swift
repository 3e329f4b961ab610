import CZlib
import Foundation

/// Reads 8-bit grayscale, gray+alpha, RGB or RGBA PNGs (non-interlaced) as grayscale bytes:
/// enough to feed digits drawn elsewhere to `dae-dist denoise`.
public enum PNGDecoder {
    public struct Image {
        public let width: Int
        public let height: Int
        /// One byte per pixel, row-major.
        public let gray: [UInt8]
    }

    public enum Failure: Error, CustomStringConvertible {
        case invalid(String)
        public var description: String { "not a PNG dae-dist can read: \(self.reason)" }
        var reason: String { if case .invalid(let why) = self { return why }; return "" }
    }

    public static func decode(_ data: Data) throws -> Image {
        let bytes = [UInt8](data)
        guard bytes.count > 8, bytes[0..<8] == [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A] else { throw Failure.invalid("no PNG signature") }
        func word(_ i: Int) -> Int { Int(bytes[i]) << 24 | Int(bytes[i + 1]) << 16 | Int(bytes[i + 2]) << 8 | Int(bytes[i + 3]) }
        var offset = 8
        var width = 0, height = 0, colorType = -1
        var idat = [UInt8]()
        while offset + 12 <= bytes.count {
            let length = word(offset)
            guard length >= 0, offset + 12 + length <= bytes.count else { throw Failure.invalid("chunk runs past the end of the file") }
            let type = String(decoding: bytes[(offset + 4)..<(offset + 8)], as: UTF8.self)
            let body = bytes[(offset + 8)..<(offset + 8 + length)]
            switch type {
            case "IHDR":
                guard length == 13 else { throw Failure.invalid("bad IHDR") }
                width = word(offset + 8)
                height = word(offset + 12)
                guard body[body.startIndex + 8] == 8 else { throw Failure.invalid("bit depth \(body[body.startIndex + 8]); only 8-bit images") }
                colorType = Int(body[body.startIndex + 9])
                guard body[body.startIndex + 12] == 0 else { throw Failure.invalid("interlaced images are not supported") }
            case "IDAT": idat += body
            default: break
            }
            offset += 12 + length
        }
        guard colorType >= 0 else { throw Failure.invalid("no IHDR chunk: the file is cut short, or not a PNG image") }
        let channels: Int
        switch colorType {
        case 0: channels = 1
        case 4: channels = 2
        case 2: channels = 3
        case 6: channels = 4
        default: throw Failure.invalid("colour type \(colorType) (palette images are not supported)")
        }
        guard width > 0, height > 0, width <= 8192, height <= 8192 else { throw Failure.invalid("size \(width) x \(height)") }
        let stride = width * channels
        var raw = [UInt8](repeating: 0, count: height * (stride + 1))
        var rawLength = UInt(raw.count)
        guard uncompress(&raw, &rawLength, idat, UInt(idat.count)) == Z_OK, Int(rawLength) == raw.count else {
            throw Failure.invalid("corrupt image data")
        }
        var pixels = [UInt8](repeating: 0, count: height * stride)
        for row in 0..<height {
            let filter = raw[row * (stride + 1)]
            for i in 0..<stride {
                let x = raw[row * (stride + 1) + 1 + i]
                let a = i >= channels ? Int(pixels[row * stride + i - channels]) : 0
                let b = row > 0 ? Int(pixels[(row - 1) * stride + i]) : 0
                let c = (i >= channels && row > 0) ? Int(pixels[(row - 1) * stride + i - channels]) : 0
                let predictor: Int
                switch filter {
                case 0: predictor = 0
                case 1: predictor = a
                case 2: predictor = b
                case 3: predictor = (a + b) / 2
                case 4:
                    let p = a + b - c, pa = abs(p - a), pb = abs(p - b), pc = abs(p - c)
                    predictor = (pa <= pb && pa <= pc) ? a : (pb <= pc ? b : c)
                default: throw Failure.invalid("unknown filter \(filter)")
                }
                pixels[row * stride + i] = UInt8(truncatingIfNeeded: Int(x) + predictor)
            }
        }
        var gray = [UInt8](repeating: 0, count: width * height)
        for i in 0..<(width * height) {
            let p = i * channels
            if channels >= 3 {
                let r = Int(pixels[p]) * 299, g = Int(pixels[p + 1]) * 587, b = Int(pixels[p + 2]) * 114
                gray[i] = UInt8((r + g + b) / 1000)
            } else {
                gray[i] = pixels[p]
            }
        }
        return Image(width: width, height: height, gray: gray)
    }
}
