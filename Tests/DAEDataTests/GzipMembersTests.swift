import DAEData
import Foundation
import XCTest

/// gzip as gzip is: a file of several members reads as their contents one after the other;
/// bytes after the last member that are not another member are an error naming the file.
final class GzipMembersTests: XCTestCase {
    func testEveryMemberIsReadAndTrailingBytesAreAnError() throws {
        let directory = NSTemporaryDirectory() + "dae-gzip-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let images = IDXReaderTests.imageFile(count: 40)
        let split = 16 + 784 * 13 + 100  // inside an image: the second member starts mid-record
        let members = Gzip.compress(images.prefix(split)) + Gzip.compress(images.dropFirst(split))
        let path = directory + "/images.gz"
        FileManager.default.createFile(atPath: path, contents: members)
        let records = try IDXReader.read(path: path, kind: .images)
        XCTAssertEqual(records.fileCount, 40)
        XCTAssertEqual(records.bytes, Array(images.dropFirst(16)))

        for trailing in [Data("garbage\n".utf8), Data([0x1F])] {
            FileManager.default.createFile(atPath: path, contents: members + trailing)
            XCTAssertThrowsError(try IDXReader.read(path: path, kind: .images)) { error in
                XCTAssertTrue("\(error)".contains(path) && "\(error)".contains("not another gzip member"), "\(error)")
            }
        }
    }
}
