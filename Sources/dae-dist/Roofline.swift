import DAECore
import Foundation

/// What the training step is measured against: the rate `cblas_sgemm` reaches on this
/// machine, on a large square product and on exactly the products a step makes.
enum Roofline {
    /// GFLOP/s of an `n x n x n` product (median of 5 after one warm-up call), added onto C
    /// (beta 1): the multiply kernel alone, with no pass clearing C.
    static func squareGFLOPs(size n: Int) -> Double {
        let a = FloatBuffer(count: n * n), b = FloatBuffer(count: n * n), c = FloatBuffer(count: n * n)
        for i in 0..<(n * n) { a[i] = Float(i % 7) * 0.1; b[i] = Float(i % 5) * 0.1 }
        let shape = GemmShape(transposeA: false, transposeB: false, m: n, n: n, k: n, lda: n, ldb: n, ldc: n, beta: 1)
        let seconds = medianSeconds(repeats: 5) { run(shape, a, b, c) }
        return Double(shape.flops) / seconds / 1e9
    }

    /// The products one training step of `model` makes (every `BLAS.gemm` call, in order).
    static func stepProducts(of step: TrainingStep, target: UnsafePointer<Float>, batch: Int, slices: [Int]) throws -> [GemmShape] {
        var shapes: [GemmShape] = []
        BLAS.shapeRecorder = { shapes.append($0) }
        defer { BLAS.shapeRecorder = nil }
        try step.run(target: target, batch: batch, globalBatch: batch, slices: slices)
        return shapes
    }

    /// Seconds and GFLOP/s of `shapes` run back to back on their own (median of 5), with
    /// the same leading dimensions and beta: the GEMM part of a step, without anything around it.
    static func replay(_ shapes: [GemmShape]) -> (seconds: Double, gflops: Double) {
        let a = FloatBuffer(count: shapes.map(\.spanA).max() ?? 1)
        let b = FloatBuffer(count: shapes.map(\.spanB).max() ?? 1)
        let c = FloatBuffer(count: shapes.map(\.spanC).max() ?? 1)
        for i in 0..<a.count { a[i] = Float(i % 7) * 0.1 }
        for i in 0..<b.count { b[i] = Float(i % 5) * 0.1 }
        let seconds = medianSeconds(repeats: 5) { for shape in shapes { run(shape, a, b, c) } }
        return (seconds, Double(shapes.reduce(0) { $0 + $1.flops }) / seconds / 1e9)
    }

    /// The process's peak resident memory so far (getrusage), in MB.
    static func peakResidentMegabytes() -> Double {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return Double(usage.ru_maxrss) / 1024  // kilobytes on Linux
    }

    /// Seconds of CPU (user and system) this process has used, all threads together.
    static func processCPUSeconds() -> Double {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        func seconds(_ t: timeval) -> Double { Double(t.tv_sec) + 1e-6 * Double(t.tv_usec) }
        return seconds(usage.ru_utime) + seconds(usage.ru_stime)
    }

    private static func run(_ s: GemmShape, _ a: FloatBuffer, _ b: FloatBuffer, _ c: FloatBuffer) {
        BLAS.gemm(transposeA: s.transposeA, transposeB: s.transposeB, m: s.m, n: s.n, k: s.k,
                  a: a.pointer, lda: s.lda, b: b.pointer, ldb: s.ldb, beta: s.beta, c: c.pointer, ldc: s.ldc)
    }

    /// Median wall time of `body` over `repeats` runs, after one untimed run.
    static func medianSeconds(repeats: Int, _ body: () throws -> Void) rethrows -> Double {
        try body()
        var times: [Double] = []
        for _ in 0..<repeats {
            let start = Clock.seconds()
            try body()
            times.append(Clock.seconds() - start)
        }
        return times.sorted()[times.count / 2]
    }
}
