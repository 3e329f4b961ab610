import DAECore
import Foundation
import XCTest

/// The worked ConvTranspose2d examples of `../shared/spec/conv_transpose_examples.json`.
final class ConvTransposeSpecTests: XCTestCase {
    private func loadSpec() throws -> [String: Any] {
        let url = try TestPaths.sharedFile("spec/conv_transpose_examples.json")
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: url))
        return try XCTUnwrap(json as? [String: Any])
    }

    func testWorkedExamplesValues() throws {
        let spec = try loadSpec()  // outside XCTUnwrap, so a skip stays a skip
        let examples = try XCTUnwrap(spec["examples"] as? [[String: Any]])
        XCTAssertFalse(examples.isEmpty)
        for example in examples {
            let name = example["name"] as! String
            let inC = example["in_channels"] as! Int, outC = example["out_channels"] as! Int
            let inputShape = example["input_shape"] as! [Int], outputShape = example["output_shape"] as! [Int]
            XCTAssertEqual(inputShape[0], 1, "examples are single images")
            let input = FloatBuffer((example["input"] as! [Double]).map(Float.init))
            let weight = TestParameter(example["weight"] as! [Double])
            let bias = (example["bias"] as? [Double]).map { TestParameter($0) }
            let layer = ConvTranspose2d(
                inChannels: inC, outChannels: outC, kernel: example["kernel"] as! Int, stride: example["stride"] as! Int,
                padding: example["padding"] as! Int, outputPadding: example["output_padding"] as! Int,
                inputHeight: inputShape[2], inputWidth: inputShape[3], weight: weight.parameter, bias: bias?.parameter)
            XCTAssertEqual([1, outC, layer.outputHeight, layer.outputWidth], outputShape, name)
            let output = FloatBuffer(count: outputShape.reduce(1, *))
            layer.forward(input.pointer, output: output.pointer, slices: [1], scratch: ThreadScratch())
            let expected = example["output"] as! [Double]
            let tolerance = example["tolerance"] as! Double
            XCTAssertEqual(output.count, expected.count, name)
            for (i, (got, want)) in zip(output.array, expected).enumerated() {
                XCTAssertEqual(Double(got), want, accuracy: tolerance, "\(name): element \(i)")
            }
        }
    }

    func testOutputSizeCases() throws {
        let spec = try loadSpec()
        let cases = try XCTUnwrap(spec["output_size_cases"] as? [[String: Any]])
        XCTAssertFalse(cases.isEmpty)
        for item in cases {
            let input = item["input"] as! [Int], output = item["output"] as! [Int]
            let (k, s, p, v) = (item["kernel"] as! Int, item["stride"] as! Int, item["padding"] as! Int, item["output_padding"] as! Int)
            let sizes = input.map { ConvGeometry.transposedOutputSize(input: $0, kernel: k, stride: s, padding: p, outputPadding: v) }
            XCTAssertEqual(sizes, output, "\(item)")
            // A layer of that geometry agrees, and its adjoint convolution maps the output back to the input size.
            let weight = TestParameter([Double](repeating: 0, count: 2 * 3 * k * k))
            let layer = ConvTranspose2d(inChannels: 2, outChannels: 3, kernel: k, stride: s, padding: p, outputPadding: v,
                                        inputHeight: input[0], inputWidth: input[1], weight: weight.parameter, bias: nil)
            XCTAssertEqual([layer.outputHeight, layer.outputWidth], output)
            XCTAssertEqual([layer.geometry.outHeight, layer.geometry.outWidth], input)
        }
    }
}
