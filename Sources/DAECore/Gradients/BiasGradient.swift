/// A bias's gradient: the sum of the output gradient over everything the bias was added to,
/// as Double sums slice by slice (see `Parameter`).
enum BiasGradient {
    /// `parameter.gradient[j] = sum over rows n of data[n][j]` (sample-major data), in Double
    /// per slice of rows. Row by row, into `gradient` as the slice's Float partial: the
    /// rows are read in order rather than one strided column at a time.
    static func sumColumns(_ data: UnsafePointer<Float>, rows: Int, columns: Int, slices: [Int], into parameter: Parameter) {
        let (partial, total) = (parameter.gradient, parameter.gradientSum)
        total.update(repeating: 0, count: columns)
        forEachSlice(slices) { _, start, size in
            partial.update(repeating: 0, count: columns)
            for n in start..<(start + size) {
                let row = data + n * columns
                for j in 0..<columns { partial[j] += row[j] }
            }
            for j in 0..<columns { total[j] += Double(partial[j]) }
        }
    }

    /// `parameter.gradient[c] = sum of data[c][slice]` over the batch's slices (`plane`
    /// values per sample), summed slice by slice in Double.
    static func sumRowsBySlice(_ data: UnsafePointer<Float>, channels: Int, plane: Int, slices: [Int], into parameter: Parameter) {
        let length = slices.reduce(0, +) * plane
        Parallel.forEach(channels) { c in
            var total: Double = 0
            forEachSlice(slices) { _, start, size in
                total += Reductions.sum(data + c * length + start * plane, count: size * plane)
            }
            parameter.gradientSum[c] = total
        }
    }
}
