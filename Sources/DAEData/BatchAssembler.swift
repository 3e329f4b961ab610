import DAECore

/// Writes a batch into preallocated buffers: the clean targets and the noisy inputs.
public enum BatchAssembler {
    /// For each of `count` samples, the clean image from `digits` row `rows(i)` and its noise
    /// keyed by `sampleIndices(i)`: `clean` and `noisy` each get 784 Floats per sample.
    public static func assemble(count: Int, digits: Digits, row: (Int) -> Int, sampleIndex: (Int) -> Int,
                                noise: NoiseGenerator, epoch: Int, factor: Float,
                                clean: UnsafeMutablePointer<Float>, noisy: UnsafeMutablePointer<Float>) {
        digits.pixels.withUnsafeBufferPointer { pixels in
            for i in 0..<count {
                noise.corrupt(pixels.baseAddress! + row(i) * Architecture.imagePixels, epoch: epoch, sample: sampleIndex(i), factor: factor,
                              clean: clean + i * Architecture.imagePixels, noisy: noisy + i * Architecture.imagePixels)
            }
        }
    }
}
