/// The shape arithmetic of a 2-d convolution over a square kernel, as PyTorch defines it.
///
/// A `ConvTranspose2d` uses the geometry of the convolution it is the adjoint of: that
/// convolution maps the transposed layer's *output* back to its *input*.
public struct ConvGeometry: Equatable, Sendable {
    public let channels: Int
    public let height: Int
    public let width: Int
    public let kernel: Int
    public let stride: Int
    public let padding: Int

    public init(channels: Int, height: Int, width: Int, kernel: Int, stride: Int, padding: Int) {
        precondition(channels > 0 && height > 0 && width > 0, "ConvGeometry: sizes must be positive")
        precondition(kernel > 0 && stride > 0 && padding >= 0, "ConvGeometry: kernel and stride positive, padding >= 0")
        precondition(height + 2 * padding >= kernel && width + 2 * padding >= kernel, "ConvGeometry: kernel larger than padded input")
        self.channels = channels
        self.height = height
        self.width = width
        self.kernel = kernel
        self.stride = stride
        self.padding = padding
    }

    public var outHeight: Int { ConvGeometry.outputSize(input: height, kernel: kernel, stride: stride, padding: padding) }
    public var outWidth: Int { ConvGeometry.outputSize(input: width, kernel: kernel, stride: stride, padding: padding) }

    /// A convolution's output size along one axis.
    public static func outputSize(input: Int, kernel: Int, stride: Int, padding: Int) -> Int {
        (input + 2 * padding - kernel) / stride + 1
    }
    /// Rows of the im2col matrix: one per (channel, kernel row, kernel column).
    public var patchSize: Int { channels * kernel * kernel }
    public var inputPlane: Int { height * width }
    public var outputPlane: Int { outHeight * outWidth }

    /// Output size of a transposed convolution: `O = (I - 1) * S - 2P + F + V`.
    public static func transposedOutputSize(input: Int, kernel: Int, stride: Int, padding: Int, outputPadding: Int) -> Int {
        (input - 1) * stride - 2 * padding + kernel + outputPadding
    }
}
