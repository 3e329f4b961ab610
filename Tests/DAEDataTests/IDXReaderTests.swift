import DAEData
import Foundation
import XCTest

/// IDX files generated on the fly: both namings, raw and gzip, every error case.
final class IDXReaderTests: XCTestCase {
    private var directory: String!

    override func setUpWithError() throws {
        directory = NSTemporaryDirectory() + "dae-idx-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: directory) }

    static func imageFile(count: Int, rows: Int = 28, columns: Int = 28, magic: UInt32 = 2051) -> Data {
        var data = Data()
        for word in [magic, UInt32(count), UInt32(rows), UInt32(columns)] { withUnsafeBytes(of: word.bigEndian) { data.append(contentsOf: $0) } }
        data.append(contentsOf: (0..<(count * rows * columns)).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ $0 / 784) })
        return data
    }

    static func labelFile(count: Int, magic: UInt32 = 2049) -> Data {
        var data = Data()
        for word in [magic, UInt32(count)] { withUnsafeBytes(of: word.bigEndian) { data.append(contentsOf: $0) } }
        data.append(contentsOf: (0..<count).map { UInt8($0 % 10) })
        return data
    }

    private func write(_ data: Data, _ name: String) -> String {
        let path = directory + "/" + name
        FileManager.default.createFile(atPath: path, contents: data)
        return path
    }

    private func assertError(_ expected: (String) -> DataError, _ body: (String) throws -> Void, path: String,
                             file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try body(path), file: file, line: line) { error in
            XCTAssertEqual(error as? DataError, expected(path), file: file, line: line)
            XCTAssertTrue("\(error)".contains(path), "message names the file: \(error)", file: file, line: line)
        }
    }

    func testBothNamingsRawAndGzipReadTheSame() throws {
        let images = Self.imageFile(count: 50), labels = Self.labelFile(count: 50)
        var loaded: [Digits] = []
        for (stem, gzip) in [("train-images-idx3-ubyte", true), ("train-images.idx3-ubyte", false)] {
            let dir = directory + "/\(gzip)"
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            let labelStem = stem.replacingOccurrences(of: "images", with: "labels").replacingOccurrences(of: "idx3", with: "idx1")
            FileManager.default.createFile(atPath: "\(dir)/\(stem)\(gzip ? ".gz" : "")", contents: gzip ? Gzip.compress(images) : images)
            FileManager.default.createFile(atPath: "\(dir)/\(labelStem)\(gzip ? ".gz" : "")", contents: gzip ? Gzip.compress(labels) : labels)
            loaded.append(try Digits.load(dataDir: dir, split: .train))
        }
        XCTAssertEqual(loaded[0].pixels, Array(images.dropFirst(16)))
        XCTAssertEqual(loaded[0].pixels, loaded[1].pixels)
        XCTAssertEqual(loaded[0].labels, loaded[1].labels)
        XCTAssertEqual(loaded[0].sampleIndices, Array(0..<50))
    }

    func testRangesEqualSlicesOfTheFullRead() throws {
        let images = Self.imageFile(count: 300)
        for gzip in [false, true] {
            let path = write(gzip ? Gzip.compress(images) : images, "images\(gzip)")
            let full = try IDXReader.read(path: path, kind: .images)
            let ranges = [3..<17, 100..<101, 250..<300]
            let part = try IDXReader.read(path: path, kind: .images, ranges: ranges)
            XCTAssertEqual(part.bytes, ranges.flatMap { full.bytes[($0.lowerBound * 784)..<($0.upperBound * 784)] })
            XCTAssertEqual(part.fileCount, 300)
        }
    }

    func testErrorsNameTheFileAndTheProblem() throws {
        let good = Self.imageFile(count: 10)
        assertError({ .truncated(path: $0, expectedBytes: 16 + 7840, actualBytes: 16 + 7840 - 100) },
                    { _ = try IDXReader.read(path: $0, kind: .images) }, path: write(good.dropLast(100), "truncated"))
        assertError({ .trailingBytes(path: $0, expectedBytes: 16 + 7840) },
                    { _ = try IDXReader.read(path: $0, kind: .images) }, path: write(good + Data([1, 2]), "long"))
        assertError({ .truncated(path: $0, expectedBytes: 16, actualBytes: 5) },
                    { _ = try IDXReader.read(path: $0, kind: .images) }, path: write(good.prefix(5), "stub"))
        assertError({ .wrongMagic(path: $0, found: 2049, expected: 2051) },
                    { _ = try IDXReader.read(path: $0, kind: .images) }, path: write(Self.labelFile(count: 10), "swapped"))
        assertError({ .wrongImageSize(path: $0, rows: 27, columns: 28) },
                    { _ = try IDXReader.read(path: $0, kind: .images) }, path: write(Self.imageFile(count: 2, rows: 27), "size"))

        let compressed = Gzip.compress(good)
        XCTAssertThrowsError(try IDXReader.read(path: write(compressed.prefix(compressed.count / 2), "cut.gz"), kind: .images)) { error in
            guard case .corruptGzip(let path, let reason)? = error as? DataError else { return XCTFail("\(error)") }
            XCTAssertTrue(path.hasSuffix("cut.gz") && reason.contains("truncated"), "\(error)")
        }
        var damaged = compressed
        for i in 12..<min(40, damaged.count) { damaged[i] ^= 0xA5 }
        XCTAssertThrowsError(try IDXReader.read(path: write(damaged, "bad.gz"), kind: .images)) { error in
            XCTAssertTrue("\(error)".contains("bad.gz"), "\(error)")
        }
    }

    /// A header claiming 4e9 images (3.1 TB) over 10 real ones is refused as truncated
    /// without allocating for the claim (an allocation of that size would end this process),
    /// and a gzip that inflates far past what its header announces (16 MB of zeros after a
    /// 10-image header) is refused at the first byte past it: its compressed stream is cut
    /// short at the end, which a reader that inflated it all would report instead.
    func testHeaderCountsAreCheckedAgainstTheBytesThere() throws {
        var claim = Self.imageFile(count: 10)
        claim.replaceSubrange(4..<8, with: withUnsafeBytes(of: UInt32(4_000_000_000).bigEndian) { Data($0) })
        for (name, data) in [("claims", claim), ("claims.gz", Gzip.compress(claim))] {
            assertError({ .truncated(path: $0, expectedBytes: 16 + 4_000_000_000 * 784, actualBytes: 16 + 7840) },
                        { _ = try IDXReader.read(path: $0, kind: .images) }, path: write(data, name))
        }
        var labels = Self.labelFile(count: 10)
        labels.replaceSubrange(4..<8, with: withUnsafeBytes(of: UInt32(4_000_000_000).bigEndian) { Data($0) })
        assertError({ .truncated(path: $0, expectedBytes: 8 + 4_000_000_000, actualBytes: 18) },
                    { _ = try IDXReader.read(path: $0, kind: .labels) }, path: write(labels, "labels-claim"))

        var bomb = Self.imageFile(count: 10)
        bomb.append(Data(count: 16 << 20))
        let compressed = Gzip.compress(bomb)
        let cut = compressed.prefix(compressed.count * 9 / 10)
        assertError({ .trailingBytes(path: $0, expectedBytes: 16 + 7840) },
                    { _ = try IDXReader.read(path: $0, kind: .images) }, path: write(cut, "bomb.gz"))
    }

    func testMissingFilesAndMismatchedCounts() throws {
        XCTAssertThrowsError(try Digits.load(dataDir: directory, split: .test)) { error in
            let message = "\(error)"
            XCTAssertTrue(message.contains("t10k-images-idx3-ubyte.gz") || message.contains("t10k-labels-idx1-ubyte.gz"), message)
            XCTAssertTrue(message.contains("--data-dir") && message.contains("synthetic") && message.contains("--download"), message)
        }
        _ = write(Self.imageFile(count: 10), "t10k-images-idx3-ubyte")
        _ = write(Self.labelFile(count: 9), "t10k-labels-idx1-ubyte")
        XCTAssertThrowsError(try Digits.load(dataDir: directory, split: .test)) { error in
            XCTAssertEqual(error as? DataError, .countMismatch(images: directory + "/t10k-images-idx3-ubyte", imageCount: 10,
                                                              labels: directory + "/t10k-labels-idx1-ubyte", labelCount: 9))
        }
    }

    /// The real digits in ../shared/data/mnist-mini, when present.
    func testRealMNISTMini() throws {
        let dir = TestShared.path("data/mnist-mini")
        guard FileManager.default.fileExists(atPath: dir) else { throw XCTSkip("\(dir) is absent; skipping the real-data check") }
        let train = try Digits.load(dataDir: dir, split: .train)
        let test = try Digits.load(dataDir: dir, split: .test)
        XCTAssertEqual(train.count, 8000)
        XCTAssertEqual(test.count, 2000)
        let mean = Double(train.pixels.reduce(0) { $0 + Int($1) }) / Double(train.pixels.count) / 255
        XCTAssertEqual(mean, 0.13, accuracy: 0.02, "MNIST's mean pixel is about 0.13")
        let part = try Digits.load(dataDir: dir, split: .train, ranges: [1000..<1100, 7900..<8000])
        XCTAssertEqual(part.pixels, Array(train.pixels[(1000 * 784)..<(1100 * 784)] + train.pixels[(7900 * 784)..<(8000 * 784)]))
        XCTAssertEqual(part.labels, Array(train.labels[1000..<1100] + train.labels[7900..<8000]))
    }
}

enum TestShared {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("shared")
    static func path(_ relative: String) -> String { root.appendingPathComponent(relative).path }
}
