import DAECore
import Foundation
import XCTest

/// `JSONString.quote` against Foundation's JSON parser: every string comes back as it went in.
final class JSONStringTests: XCTestCase {
    func testRoundTripsThroughAJSONParser() throws {
        let strings = ["", "plain", "quote \" and backslash \\", "slash / kept", "line\nreturn\rtab\t",
                       "bell \u{07} nul \u{00} unit \u{1F} del \u{7F}", "ümlaut, 数字, 🙂", "\u{08}\u{0C}"]
        for string in strings {
            let quoted = JSONString.quote(string)
            let parsed = try JSONSerialization.jsonObject(with: Data("[\(quoted)]".utf8)) as? [String]
            XCTAssertEqual(parsed, [string], quoted)
        }
        XCTAssertEqual(JSONString.quote("a/b"), "\"a/b\"", "slashes stay unescaped, as paths read best")
    }
}
