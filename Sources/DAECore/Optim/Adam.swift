#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Adam with PyTorch's update rule (`torch.optim.Adam`, no weight decay, no amsgrad):
///
///     m = m + (1 - b1) (g - m);  v = b2 v + (1 - b2) g^2
///     p -= lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)
///
/// The moments live in two buffers laid out like the parameters, so one loop updates all.
public final class Adam {
    public var learningRate: Float
    public let beta1: Float
    public let beta2: Float
    public let eps: Float
    /// Steps taken so far (PyTorch's `state['step']`).
    public var step: Int = 0
    public let firstMoment: FloatBuffer
    public let secondMoment: FloatBuffer

    public init(parameterCount: Int, learningRate: Float = 1e-3, beta1: Float = 0.9, beta2: Float = 0.999, eps: Float = 1e-8) {
        self.learningRate = learningRate
        self.beta1 = beta1
        self.beta2 = beta2
        self.eps = eps
        firstMoment = FloatBuffer(count: parameterCount)
        secondMoment = FloatBuffer(count: parameterCount)
    }

    /// One update of `parameters` from `gradients` (both `firstMoment.count` long).
    public func update(parameters: UnsafeMutablePointer<Float>, gradients: UnsafePointer<Float>) {
        step += 1
        let t = Double(step)
        let stepSize = Float(Double(learningRate) / (1 - pow(Double(beta1), t)))
        let correction2Sqrt = Float((1 - pow(Double(beta2), t)).squareRoot())
        let m = firstMoment.pointer, v = secondMoment.pointer
        let (b1, b2, eps) = (beta1, beta2, eps)
        let count = firstMoment.count, chunk = 16_384
        Parallel.forEach((count + chunk - 1) / chunk) { block in
            for i in (block * chunk)..<min(count, (block + 1) * chunk) {
                let g = gradients[i]
                let mi = m[i] + (1 - b1) * (g - m[i])
                let vi = b2 * v[i] + (1 - b2) * g * g
                m[i] = mi
                v[i] = vi
                parameters[i] -= stepSize * mi / (vi.squareRoot() / correction2Sqrt + eps)
            }
        }
    }
}
