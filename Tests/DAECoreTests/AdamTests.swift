import DAECore
import XCTest

/// Adam's update rule against `torch.optim.Adam` on fixed gradients spanning 1e-6..10.
final class AdamTests: XCTestCase {
    func testMatchesTorchOptimAdam() throws {
        let fixture = try SafeTensors.read(path: TestPaths.fixture("adam.safetensors").path)
        let parameters = FloatBuffer(try fixture.floats("adam.param0"))
        let adam = Adam(parameterCount: parameters.count)
        for step in 1...3 {
            let gradient = FloatBuffer(try fixture.floats("adam.grad\(step)"))
            adam.update(parameters: parameters.pointer, gradients: gradient.pointer)
        }
        let expected = try fixture.floats("adam.param3")
        for (i, (got, want)) in zip(parameters.array, expected).enumerated() {
            XCTAssertEqual(got, want, accuracy: 1e-6 * max(1, abs(want)), "element \(i)")
        }
        XCTAssertEqual(adam.step, 3)
    }
}
