import DAECore
import DAEData
import XCTest

/// The paper's corruptions: the fraction of pixels each touches, what it sets them to, and
/// that the noise of a sample is a pure function of (seed, epoch, sample).
final class CorruptionTests: XCTestCase {
    /// Corrupts `samples` images whose every byte is `value`; returns all noisy pixels.
    private func corrupted(_ corruption: Corruption, factor: Float, value: UInt8, samples: Int = 200, epoch: Int = 3) -> [Float] {
        let noise = NoiseGenerator(seed: 7, corruption: corruption)
        let image = [UInt8](repeating: value, count: Architecture.imagePixels)
        var clean = [Float](repeating: 0, count: Architecture.imagePixels), noisy = clean, all: [Float] = []
        for sample in 0..<samples {
            noise.corrupt(image, epoch: epoch, sample: sample, factor: factor, clean: &clean, noisy: &noisy)
            all += noisy
        }
        return all
    }

    /// 156,800 pixels: the fraction's standard deviation is about 0.0012, so 0.005 is 4 of them.
    func testMaskingSetsTheGivenFractionToZero() {
        let pixels = corrupted(.masking, factor: 0.3, value: 255)
        let zeros = Double(pixels.filter { $0 == 0 }.count) / Double(pixels.count)
        XCTAssertEqual(zeros, 0.3, accuracy: 0.005)
        XCTAssertTrue(pixels.allSatisfy { $0 == 0 || $0 == 1 }, "the rest unchanged")
    }

    func testSaltAndPepperSetsTheGivenFractionToZeroOrOneEvenly() {
        let pixels = corrupted(.saltPepper, factor: 0.4, value: 128)
        let clean = Float(128) * (1 / 255)  // as the generator scales a byte
        let salt = Double(pixels.filter { $0 == 1 }.count) / Double(pixels.count)
        let pepper = Double(pixels.filter { $0 == 0 }.count) / Double(pixels.count)
        XCTAssertEqual(salt + pepper, 0.4, accuracy: 0.005)
        XCTAssertEqual(salt, 0.2, accuracy: 0.005)
        XCTAssertTrue(pixels.allSatisfy { $0 == 0 || $0 == 1 || $0 == clean }, "the rest unchanged")
    }

    func testTheNoiseOfASampleIsAPureFunctionOfItsKey() {
        for corruption in Corruption.allCases {
            XCTAssertEqual(corrupted(corruption, factor: 0.3, value: 100, samples: 3), corrupted(corruption, factor: 0.3, value: 100, samples: 3))
            XCTAssertNotEqual(corrupted(corruption, factor: 0.3, value: 100, samples: 3),
                              corrupted(corruption, factor: 0.3, value: 100, samples: 3, epoch: 4), "\(corruption): another epoch")
            XCTAssertTrue(corrupted(corruption, factor: 0, value: 100, samples: 1).allSatisfy { $0 == Float(100) * (1 / 255) },
                          "\(corruption): factor 0 is the clean image")
        }
    }
}
