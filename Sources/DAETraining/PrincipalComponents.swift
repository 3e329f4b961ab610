/// The directions of largest variance of a set of rows (PCA), found by power iteration on the
/// covariance with deflation: deterministic, and enough for the two a picture needs.
public struct PrincipalComponents {
    public let mean: [Double]
    /// Unit vectors, largest variance first; each with its largest entry positive.
    public let components: [[Double]]

    public init(rows: [Float], dims: Int, components wanted: Int = 2) {
        precondition(dims > 0 && rows.count % dims == 0, "rows of \(dims) values")
        let count = rows.count / dims, n = Double(max(1, count))
        var mean = [Double](repeating: 0, count: dims)
        for r in 0..<count { for j in 0..<dims { mean[j] += Double(rows[r * dims + j]) / n } }
        var covariance = [Double](repeating: 0, count: dims * dims)
        for r in 0..<count {
            for i in 0..<dims {
                let a = Double(rows[r * dims + i]) - mean[i]
                for j in i..<dims { covariance[i * dims + j] += a * (Double(rows[r * dims + j]) - mean[j]) / n }
            }
        }
        for i in 0..<dims { for j in 0..<i { covariance[i * dims + j] = covariance[j * dims + i] } }
        var components: [[Double]] = []
        for _ in 0..<min(wanted, dims) {
            var v = (0..<dims).map { 1 + Double($0) * 1e-3 }  // a fixed start, not orthogonal to any real direction in practice
            var value = 0.0
            for _ in 0..<1000 {
                var next = [Double](repeating: 0, count: dims)
                for i in 0..<dims { for j in 0..<dims { next[i] += covariance[i * dims + j] * v[j] } }
                let norm = next.reduce(0) { $0 + $1 * $1 }.squareRoot()
                guard norm > 0 else { break }
                next = next.map { $0 / norm }
                let change = zip(next, v).reduce(0) { $0 + abs($1.0 - $1.1) }
                (v, value) = (next, norm)
                if change < 1e-12 { break }
            }
            if let largest = v.indices.max(by: { abs(v[$0]) < abs(v[$1]) }), v[largest] < 0 { v = v.map { -$0 } }
            components.append(v)
            for i in 0..<dims { for j in 0..<dims { covariance[i * dims + j] -= value * v[i] * v[j] } }  // deflate
        }
        self.mean = mean
        self.components = components
    }

    /// The coordinates of `row` along the components.
    public func project(_ row: ArraySlice<Float>) -> [Double] {
        components.map { component in zip(component, row).enumerated().reduce(0) { $0 + $1.element.0 * (Double($1.element.1) - mean[$1.offset]) } }
    }

    /// The point `mean + sum of coordinates[k] * component k`.
    public func point(_ coordinates: [Double]) -> [Float] {
        var out = mean
        for (component, c) in zip(components, coordinates) { for j in out.indices { out[j] += c * component[j] } }
        return out.map(Float.init)
    }
}
