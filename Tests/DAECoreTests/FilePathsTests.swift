import DAECore
import Foundation
import XCTest

/// What the program reads must be a regular file, named by one wording per case; what it
/// writes goes through links to their targets and never replaces a device, FIFO or folder.
final class FilePathsTests: XCTestCase {
    private var directory = ""

    override func setUpWithError() throws {
        directory = NSTemporaryDirectory() + "dae-paths-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: directory) }

    func testReadingRefusesWhatIsNotARegularFile() throws {
        let fifo = directory + "/fifo", loop = directory + "/loop", file = directory + "/file"
        XCTAssertEqual(mkfifo(fifo, 0o644), 0)
        try FileManager.default.createSymbolicLink(atPath: loop, withDestinationPath: loop)
        XCTAssertTrue(FileManager.default.createFile(atPath: file, contents: Data([1, 2, 3])))
        let cases: [(String, String)] = [
            (fifo, "named pipe (FIFO)"), (directory, "is a folder"), (loop, "symbolic links form a loop"),
            (directory + "/none", "no such file"), ("/dev/zero", "is a device"), (file + "/inside", "not a folder"), ("", "an empty path"),
        ]
        for (path, says) in cases {
            XCTAssertThrowsError(try InputFile.read(path, limit: 1 << 20), path) { error in
                XCTAssertTrue("\(error)".contains(says), "\(path): \(error)")
            }
        }
        XCTAssertEqual(try InputFile.read(file, limit: 3), Data([1, 2, 3]))
        XCTAssertThrowsError(try InputFile.read(file, limit: 2)) { XCTAssertTrue("\($0)".contains("more than the 2")) }
    }

    func testWritingGoesThroughLinksAndNeverReplacesDevices() throws {
        let target = directory + "/target", link = directory + "/link", chain = directory + "/chain"
        XCTAssertTrue(FileManager.default.createFile(atPath: target, contents: Data("old".utf8)))
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: "target")  // relative
        try FileManager.default.createSymbolicLink(atPath: chain, withDestinationPath: link)
        try AtomicFile.write(Data("new".utf8), to: chain)
        XCTAssertEqual(try FileManager.default.destinationOfSymbolicLink(atPath: link), "target")
        XCTAssertEqual(try FileManager.default.destinationOfSymbolicLink(atPath: chain), link)
        XCTAssertEqual(FileManager.default.contents(atPath: target), Data("new".utf8))

        let fifo = directory + "/fifo", loop = directory + "/loop"
        XCTAssertEqual(mkfifo(fifo, 0o644), 0)
        try FileManager.default.createSymbolicLink(atPath: loop, withDestinationPath: loop)
        for (path, says) in [("/dev/null", "is a device"), (fifo, "named pipe"), (directory, "is a folder"), (loop, "form a loop")] {
            XCTAssertThrowsError(try AtomicFile.write(Data("x".utf8), to: path), path) { XCTAssertTrue("\($0)".contains(says), "\(path): \($0)") }
        }
        var status = stat()
        XCTAssertEqual(stat("/dev/null", &status), 0)
        XCTAssertEqual(status.st_mode & S_IFMT, S_IFCHR, "/dev/null is still a device")
    }
}
