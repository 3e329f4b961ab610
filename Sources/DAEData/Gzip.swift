import CZlib
import Foundation

/// gzip compression (for writing IDX files that MNIST tools and dae-dist both read).
public enum Gzip {
    public static func compress(_ data: Data, level: Int32 = 6) -> Data {
        var stream = z_stream()
        // 15 + 16: zlib window size, and write a gzip (not zlib) wrapper.
        precondition(deflateInit2_(&stream, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY,
                                   ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK, "zlib deflateInit2 failed")
        defer { deflateEnd(&stream) }
        var output = Data(count: Int(deflateBound(&stream, UInt(data.count))) + 32)
        let written: Int = data.withUnsafeBytes { input in
            output.withUnsafeMutableBytes { out in
                stream.next_in = UnsafeMutablePointer(mutating: input.bindMemory(to: Bytef.self).baseAddress)
                stream.avail_in = UInt32(input.count)
                stream.next_out = out.bindMemory(to: Bytef.self).baseAddress
                stream.avail_out = UInt32(out.count)
                let status = deflate(&stream, Z_FINISH)
                precondition(status == Z_STREAM_END, "zlib deflate failed (\(status))")
                return out.count - Int(stream.avail_out)
            }
        }
        return output.prefix(written)
    }
}
