import DAECore
/// The IDX format of the MNIST files: a big-endian header (magic 2051 for images, then count,
/// rows, columns; magic 2049 for labels, then count) followed by one byte per pixel or label.
public enum IDXKind: Sendable {
    case images
    case labels

    public var magic: UInt32 { self == .images ? 2051 : 2049 }
    public var headerSize: Int { self == .images ? 16 : 8 }
    /// Bytes per record: one 28 x 28 image, or one label.
    public var recordSize: Int { self == .images ? Architecture.imagePixels : 1 }
}

/// Records read from one IDX file.
public struct IDXRecords: Sendable {
    public let path: String
    public let kind: IDXKind
    /// Records in the whole file, from its header.
    public let fileCount: Int
    /// The records asked for, back to back, in the order of the requested ranges.
    public let bytes: [UInt8]
}

public enum IDXReader {
    /// Reads the records in `ranges` (ascending, disjoint record-index ranges; nil for all) of
    /// the IDX file at `path`, raw or gzip. The whole file is still checked: header, image size,
    /// and that its length is exactly what the header says.
    ///
    /// Nothing is allocated from the header's count: the records grow as their bytes arrive, so
    /// a header that claims more than the file holds costs only what the file holds before it
    /// is refused as truncated, and reading stops at the first byte past what the header
    /// announces (a gzip bomb or an endless file is refused there, not inflated to the end).
    public static func read(path: String, kind: IDXKind, ranges: [Range<Int>]? = nil) throws -> IDXRecords {
        var header = [UInt8]()
        var fileCount = 0
        var intervals: [Range<Int>] = []  // the wanted records' bytes in the file, ascending
        var bytes: [UInt8] = []  // the wanted bytes so far, in file order
        var expected = Int.max  // the file's length by its header, once read
        var next = 0  // first interval that may still receive bytes

        func parseHeader() throws {
            func word(_ i: Int) -> UInt32 { header[i..<(i + 4)].reduce(0) { $0 << 8 | UInt32($1) } }
            let magic = word(0)
            guard magic == kind.magic else { throw DataError.wrongMagic(path: path, found: magic, expected: kind.magic) }
            fileCount = Int(word(4))
            if kind == .images {
                let (rows, columns) = (Int(word(8)), Int(word(12)))
                guard rows == Architecture.imageSide && columns == Architecture.imageSide else { throw DataError.wrongImageSize(path: path, rows: rows, columns: columns) }
            }
            expected = kind.headerSize + fileCount * kind.recordSize  // at most 8 + 2^32 * 784: no overflow
            let wanted = ranges ?? [0..<fileCount]
            var previousEnd = 0
            for range in wanted {
                guard range.lowerBound >= previousEnd, range.upperBound <= fileCount else {
                    throw DataError.recordsOutOfRange(path: path, reason: "records \(range) requested but the file holds \(fileCount) (ranges must be ascending and inside the file)")
                }
                previousEnd = range.upperBound
                let start = kind.headerSize + range.lowerBound * kind.recordSize
                intervals.append(start..<(start + range.count * kind.recordSize))
            }
        }

        let total = try ByteStream.read(path: path) { offset, chunk in
            var offset = offset
            var chunk = chunk
            if header.count < kind.headerSize {
                let take = min(kind.headerSize - header.count, chunk.count)
                header.append(contentsOf: chunk[0..<take])
                offset += take
                chunk = UnsafeRawBufferPointer(rebasing: chunk[take...])
                if header.count == kind.headerSize { try parseHeader() }
            }
            let end = offset + chunk.count
            if end > expected { throw DataError.trailingBytes(path: path, expectedBytes: expected) }
            while next < intervals.count && intervals[next].upperBound <= offset { next += 1 }
            var i = next
            while i < intervals.count && intervals[i].lowerBound < end {
                let lower = max(intervals[i].lowerBound, offset), upper = min(intervals[i].upperBound, end)
                if lower < upper { bytes.append(contentsOf: chunk[(lower - offset)..<(upper - offset)]) }
                i += 1
            }
        }
        if header.count < kind.headerSize {
            throw DataError.truncated(path: path, expectedBytes: kind.headerSize, actualBytes: total)
        }
        if total < expected { throw DataError.truncated(path: path, expectedBytes: expected, actualBytes: total) }
        if total > expected { throw DataError.trailingBytes(path: path, expectedBytes: expected) }
        return IDXRecords(path: path, kind: kind, fileCount: fileCount, bytes: bytes)
    }
}
