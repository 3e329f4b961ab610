import DAECore
import Foundation

/// Images (one byte per pixel, 784 per image) with their labels and their sample indices
/// (positions in the split's file), so noise and sampling can be keyed by sample, not by
/// where the sample happens to sit in memory.
public struct Digits: Sendable {
    public let pixels: [UInt8]
    public let labels: [UInt8]
    public let sampleIndices: [Int]

    /// One 28 x 28 image, a byte per pixel.

    public init(pixels: [UInt8], labels: [UInt8], sampleIndices: [Int]) {
        precondition(pixels.count == labels.count * Architecture.imagePixels && labels.count == sampleIndices.count, "Digits: inconsistent sizes")
        self.pixels = pixels
        self.labels = labels
        self.sampleIndices = sampleIndices
    }

    public var count: Int { labels.count }

    /// The digits at `indices`, in that order.
    public func subset(_ indices: [Int]) -> Digits {
        let side = Architecture.imagePixels
        return Digits(pixels: indices.flatMap { pixels[($0 * side)..<(($0 + 1) * side)] }, labels: indices.map { labels[$0] },
                      sampleIndices: indices.map { sampleIndices[$0] })
    }

    /// The first `count` digits.
    public func prefix(_ count: Int) -> Digits {
        Digits(pixels: Array(pixels.prefix(count * Architecture.imagePixels)), labels: Array(labels.prefix(count)),
               sampleIndices: Array(sampleIndices.prefix(count)))
    }

    /// Reads records `ranges` of a split's image and label files (all records when nil).
    public static func load(dataDir: String, split: MNISTSplit, ranges: [Range<Int>]? = nil) throws -> Digits {
        let imagePath = try MNISTFiles.locate(dataDir: dataDir, split, .images)
        let labelPath = try MNISTFiles.locate(dataDir: dataDir, split, .labels)
        let labels = try IDXReader.read(path: labelPath, kind: .labels, ranges: ranges)
        let images = try IDXReader.read(path: imagePath, kind: .images, ranges: ranges)
        guard images.fileCount == labels.fileCount else {
            throw DataError.countMismatch(images: imagePath, imageCount: images.fileCount, labels: labelPath, labelCount: labels.fileCount)
        }
        if ranges == nil && images.fileCount == 0 { throw DataError.empty(path: imagePath) }
        let indices = (ranges ?? [0..<images.fileCount]).flatMap { Array($0) }
        try checkLabels(labels.bytes, indices: indices, path: labelPath)
        return Digits(pixels: images.bytes, labels: labels.bytes, sampleIndices: indices)
    }

    /// Every label of a split's label file, each checked to be a digit.
    public static func labels(dataDir: String, split: MNISTSplit) throws -> [UInt8] {
        let path = try MNISTFiles.locate(dataDir: dataDir, split, .labels)
        let labels = try IDXReader.read(path: path, kind: .labels).bytes
        try checkLabels(labels, indices: Array(labels.indices), path: path)
        return labels
    }

    private static func checkLabels(_ labels: [UInt8], indices: [Int], path: String) throws {
        if let bad = labels.firstIndex(where: { $0 > 9 }) { throw DataError.badLabel(path: path, index: indices[bad], value: labels[bad]) }
    }

    /// Just the number of records, from the label file's header.
    public static func count(dataDir: String, split: MNISTSplit) throws -> Int {
        let labelPath = try MNISTFiles.locate(dataDir: dataDir, split, .labels)
        return try IDXReader.read(path: labelPath, kind: .labels, ranges: []).fileCount
    }
}
