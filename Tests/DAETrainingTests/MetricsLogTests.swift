import DAETraining
import Foundation
import XCTest

/// metrics.jsonl never keeps a partial line: one left by an earlier run (a disk that filled
/// mid-line) is cut off before this run appends.
final class MetricsLogTests: XCTestCase {
    func testAPartialLastLineIsCutBeforeAppending() throws {
        let path = NSTemporaryDirectory() + "metrics-\(UUID().uuidString).jsonl"
        defer { try? FileManager.default.removeItem(atPath: path) }
        FileManager.default.createFile(atPath: path, contents: Data("{\"event\":\"run\"}\n{\"event\":\"st".utf8))
        let log = try MetricsLog(path: path)
        try log.write(["event": "end"])
        XCTAssertEqual(String(decoding: try XCTUnwrap(FileManager.default.contents(atPath: path)), as: UTF8.self),
                       "{\"event\":\"run\"}\n{\"event\":\"end\"}\n")

        FileManager.default.createFile(atPath: path, contents: Data("no newline at all".utf8))
        try MetricsLog(path: path).write(["event": "run"])
        XCTAssertEqual(String(decoding: try XCTUnwrap(FileManager.default.contents(atPath: path)), as: UTF8.self), "{\"event\":\"run\"}\n")
    }
}
