import CZlib
import Foundation

/// A minimal PNG encoder: 8-bit grayscale or RGB, no interlace, each scanline unfiltered,
/// compressed with zlib. Enough for the pictures a run writes.
public enum PNG {
    public static func encode(width: Int, height: Int, channels: Int, pixels: [UInt8]) -> Data {
        precondition(channels == 1 || channels == 3, "PNG: 1 (gray) or 3 (RGB) channels")
        precondition(pixels.count == width * height * channels, "PNG: \(pixels.count) bytes for \(width)x\(height)x\(channels)")
        var raw = [UInt8]()
        raw.reserveCapacity(height * (1 + width * channels))
        for row in 0..<height {
            raw.append(0)  // filter: none
            raw.append(contentsOf: pixels[(row * width * channels)..<((row + 1) * width * channels)])
        }
        var compressedLength = compressBound(UInt(raw.count))
        var compressed = [UInt8](repeating: 0, count: Int(compressedLength))
        let status = compress2(&compressed, &compressedLength, raw, UInt(raw.count), 9)
        precondition(status == Z_OK, "zlib compress2 failed (\(status))")

        var png = Data([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A])
        var header = Data()
        header.append(bigEndian: UInt32(width))
        header.append(bigEndian: UInt32(height))
        header.append(contentsOf: [8, channels == 1 ? 0 : 2, 0, 0, 0])  // depth 8, gray or truecolor
        png.appendChunk("IHDR", header)
        png.appendChunk("IDAT", Data(compressed[0..<Int(compressedLength)]))
        png.appendChunk("IEND", Data())
        return png
    }
}

extension Data {
    mutating func append(bigEndian value: UInt32) {
        Swift.withUnsafeBytes(of: value.bigEndian) { append(contentsOf: $0) }
    }

    mutating func appendChunk(_ type: String, _ body: Data) {
        append(bigEndian: UInt32(body.count))
        let typed = Data(type.utf8) + body
        append(typed)
        let crc = typed.withUnsafeBytes { crc32(0, $0.bindMemory(to: Bytef.self).baseAddress, UInt32(typed.count)) }
        append(bigEndian: UInt32(crc))
    }
}
