/// Mean squared error, split so that the mean can be over the *global* element count:
/// each rank returns its local sum of squares, and the gradient takes the global count.
public enum MSELoss {
    /// `sum_i (prediction_i - target_i)^2`, in Double.
    public static func sumOfSquares(_ prediction: UnsafePointer<Float>, target: UnsafePointer<Float>, count: Int) -> Double {
        var total: Double = 0
        for i in 0..<count { let d = Double(prediction[i] - target[i]); total += d * d }
        return total
    }

    /// `d/dprediction` of `sum (prediction - target)^2 / meanOver`.
    public static func gradient(_ prediction: UnsafePointer<Float>, target: UnsafePointer<Float>, count: Int,
                                meanOver: Int, into grad: UnsafeMutablePointer<Float>) {
        let scale = 2 / Float(meanOver)
        Parallel.forEachElementChunk(count) { range in
            for i in range { grad[i] = scale * (prediction[i] - target[i]) }
        }
    }
}
