import CZlib
import DAECore
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
        let descriptor: Int32
        do { descriptor = try InputFile.open(path) } catch {
            throw error.missing ? DataError.missing(path: path, dataDir: (path as NSString).deletingLastPathComponent)
                                : DataError.unreadable(path: path, reason: error.reason)
        }
        guard let file = fdopen(descriptor, "rb") else {
            close(descriptor)
            throw DataError.unreadable(path: path, reason: String(cString: strerror(errno)))
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
        // input[start..<available] is read from the file and not yet inflated.
        var available = firstCount, start = 0
        while true {
            // inflate until it has taken all of this input (or a member ends), emitting full output chunks
            var memberEnded = false
            try input.withUnsafeMutableBufferPointer { inputBuffer in
                stream.next_in = inputBuffer.baseAddress! + start
                stream.avail_in = UInt32(available - start)
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
                    if status == Z_STREAM_END { memberEnded = true; return }
                } while stream.avail_out == 0
            }
            guard memberEnded else {
                (available, start) = (fread(&input, 1, chunkSize, file), 0)
                if available == 0 {
                    throw DataError.corruptGzip(path: path, reason: "the file ends before the compressed stream does (truncated download?)")
                }
                continue
            }
            // A gzip file may hold several members, one after the other (`cat a.gz b.gz`): their
            // contents follow each other. Anything else after a member is an error.
            start = available - Int(stream.avail_in)
            if available - start < 2 {
                let left = Array(input[start..<available])
                input.replaceSubrange(0..<left.count, with: left)
                let more = input.withUnsafeMutableBytes { fread($0.baseAddress! + left.count, 1, chunkSize - left.count, file) }
                (available, start) = (left.count + more, 0)
            }
            if available == start { break }  // the end of the file, after a whole member
            guard available - start >= 2, input[start] == 0x1F, input[start + 1] == 0x8B, inflateReset(&stream) == Z_OK else {
                throw DataError.corruptGzip(path: path, reason: "bytes follow the end of its compressed data that are not another gzip member")
            }
        }
        return total
    }
}
