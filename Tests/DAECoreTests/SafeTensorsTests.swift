import DAECore
import Foundation
import XCTest

final class SafeTensorsTests: XCTestCase {
    private func sample() -> Data {
        let values: [Float] = [1, -2, 3.5, 4, 5, 6]
        return values.withUnsafeBufferPointer { floats in
            SafeTensors.encode([SafeTensors.Tensor(name: "a.weight", floats: floats, shape: [2, 3]),
                                SafeTensors.Tensor(name: "a.num_batches_tracked", int64s: [7], shape: [])],
                               metadata: ["epoch": "3"])
        }
    }

    func testRoundTrip() throws {
        let file = try SafeTensors(data: sample(), source: "memory")
        XCTAssertEqual(try file.floats("a.weight"), [1, -2, 3.5, 4, 5, 6])
        XCTAssertEqual(try file.entry("a.weight").shape, [2, 3])
        XCTAssertEqual(try file.int64s("a.num_batches_tracked"), [7])
        XCTAssertEqual(file.metadata["epoch"], "3")
        XCTAssertThrowsError(try file.floats("missing"))
        let destination = FloatBuffer(count: 6)
        XCTAssertThrowsError(try file.copyFloats("a.weight", shape: [3, 2], into: destination.pointer)) { error in
            XCTAssertTrue("\(error)".contains("shape [2, 3], expected [3, 2]"), "\(error)")
        }
    }

    func testCorruptFilesAreRefusedWithTheirName() {
        let good = sample()
        var hugeHeader = good
        hugeHeader.replaceSubrange(0..<8, with: [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F])
        var badJSON = good
        badJSON[8] = UInt8(ascii: "[")
        let cases: [(String, Data)] = [
            ("empty", Data()),
            ("short", good.prefix(5)),
            ("huge header length", hugeHeader),
            ("truncated data", good.dropLast(4)),
            ("header not an object", badJSON),
        ]
        for (what, data) in cases {
            XCTAssertThrowsError(try SafeTensors(data: Data(data), source: "ckpt-\(what).safetensors"), what) { error in
                XCTAssertTrue("\(error)".contains("ckpt-\(what).safetensors"), "\(what): \(error)")
            }
        }
        XCTAssertThrowsError(try SafeTensors.read(path: "/nonexistent/x.safetensors")) { error in
            XCTAssertEqual(error as? SafeTensorsError, .missing(path: "/nonexistent/x.safetensors"))
        }
    }

    /// The fixtures PyTorch's `safetensors` package wrote read back with the shapes it gave them.
    func testReadsFilesWrittenByPython() throws {
        let file = try SafeTensors.read(path: TestPaths.fixture("reference_latent2.safetensors").path)
        XCTAssertEqual(try file.entry("input.clean").shape, [8, 1, 28, 28])
        XCTAssertEqual(try file.entry("init.decoder.decoder.3.weight").shape, [64, 64, 3, 3])
        XCTAssertEqual(file.metadata["latent_dim"], "2")
    }
}
