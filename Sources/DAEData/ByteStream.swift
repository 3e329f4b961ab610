import CZlib
import Foundation

/// Reads a file front to back in chunks, inflating it on the fly when it is gzip (detected
/// by its magic bytes, not its name), so a rank can pick its records out of a compressed
/// file without ever holding the whole of it in memory.
enum ByteStream {
    static let chunkSize = 1 << 16

    /// Calls `consume(offset, bytes)` for consecutive pieces of the (uncompressed) content.
    /// Returns the total uncompressed length.
    @discardableResult
    static func read(path: String, consume: (Int, UnsafeRawBufferPointer) throws -> Void) throws -> Int {
        guard let file = fopen(path, "rb") else {
            throw FileManager.default.fileExists(atPath: path)
                ? DataError.unreadable(path: path, reason: String(cString: strerror(errno)))
                : DataError.missing(path: path, dataDir: (path as NSString).deletingLastPathComponent)
        }
        defer { fclose(file) }
        var input = [UInt8](repeating: 0, count: chunkSize)
        let first = fread(&input, 1, chunkSize, file)
        if first >= 2 && input[0] == 0x1F && input[1] == 0x8B {
            return try inflate(path: path, file: file, input: &input, firstCount: first, consume: consume)
        }
        var offset = 0
        var count = first
        while count > 0 {
            try input.withUnsafeBytes { try consume(offset, UnsafeRawBufferPointer(rebasing: $0[0..<count])) }
            offset += count
            count = fread(&input, 1, chunkSize, file)
        }
        if ferror(file) != 0 { throw DataError.unreadable(path: path, reason: String(cString: strerror(errno))) }
        return offset
    }

    private static func inflate(path: String, file: UnsafeMutablePointer<FILE>, input: inout [UInt8], firstCount: Int,
                                consume: (Int, UnsafeRawBufferPointer) throws -> Void) throws -> Int {
        var stream = z_stream()
        // 15 + 32: zlib window size, and detect the gzip header automatically.
        guard inflateInit2_(&stream, 15 + 32, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            throw DataError.corruptGzip(path: path, reason: "zlib could not start")
        }
        defer { inflateEnd(&stream) }
        var output = [UInt8](repeating: 0, count: chunkSize)
        var total = 0
        var available = firstCount
        while true {
            // inflate until it has taken all of this input (or the stream ends), emitting full output chunks
            try input.withUnsafeMutableBufferPointer { inputBuffer in
                stream.next_in = inputBuffer.baseAddress
                stream.avail_in = UInt32(available)
                repeat {
                    let (status, produced): (Int32, Int) = output.withUnsafeMutableBufferPointer { outputBuffer in
                        stream.next_out = outputBuffer.baseAddress
                        stream.avail_out = UInt32(chunkSize)
                        let status = CZlib.inflate(&stream, Z_NO_FLUSH)
                        return (status, chunkSize - Int(stream.avail_out))
                    }
                    guard status == Z_OK || status == Z_BUF_ERROR || status == Z_STREAM_END else {
                        let message = stream.msg.map { String(cString: $0) } ?? "zlib error \(status)"
                        throw DataError.corruptGzip(path: path, reason: message)
                    }
                    if produced > 0 {
                        try output.withUnsafeBytes { try consume(total, UnsafeRawBufferPointer(rebasing: $0[0..<produced])) }
                        total += produced
                    }
                    if status == Z_STREAM_END { available = -1; return }
                } while stream.avail_out == 0
            }
            if available < 0 { break }  // the compressed stream ended
            available = fread(&input, 1, chunkSize, file)
            if available == 0 {
                throw DataError.corruptGzip(path: path, reason: "the file ends before the compressed stream does (truncated download?)")
            }
        }
        return total
    }
}
