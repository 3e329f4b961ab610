import CKernels
import DAECore
import Foundation
import XCTest

/// `--precision bf16`'s products (`dae_bf16_gemm`, through `BLAS.gemm`): operands rounded to
/// bfloat16 to nearest even, float32 sums. Checked against a Double product of the rounded
/// operands, every transpose, shapes with edges in every block (8 x 48 tiles, 256 values of
/// k, 192 rows, 960 columns), and with leading dimensions wider than the product.
final class BF16GemmTests: XCTestCase {
    override func setUpWithError() throws {
        if let reason = Precision.bf16.unavailableReason { throw XCTSkip(reason) }
    }

    override func tearDown() {
        BLAS.precision = .fp32
    }

    private let shapes: [(m: Int, n: Int, k: Int)] = [
        (1, 1, 1), (7, 5, 3), (8, 48, 2), (9, 49, 257), (64, 784, 288), (576, 245, 64), (64, 288, 784), (11, 2, 3136),
        (200, 1000, 600),
    ]

    /// C = beta * C + op(A) op(B) through `BLAS.gemm` in bf16, and the Double reference on
    /// the rounded operands; returns (result, reference, sum of |products| per element).
    private func product(transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int, beta: Float,
                         value: (inout SplitMix64) -> Float) -> (result: [Float], reference: [Double], magnitude: [Double]) {
        let lda = (transposeA ? m : k) + 3, ldb = (transposeB ? k : n) + 5, ldc = n + 2
        var random = SplitMix64(seed: UInt64(m * 1_000_003 + n * 1_009 + k))
        let a = (0..<((transposeA ? k : m) * lda)).map { _ in value(&random) }
        let b = (0..<((transposeB ? n : k) * ldb)).map { _ in value(&random) }
        let c0 = (0..<(m * ldc)).map { _ in value(&random) }
        var c = c0
        BLAS.precision = .bf16
        a.withUnsafeBufferPointer { a in
            b.withUnsafeBufferPointer { b in
                c.withUnsafeMutableBufferPointer { c in
                    BLAS.gemm(transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, a: a.baseAddress!, lda: lda,
                              b: b.baseAddress!, ldb: ldb, beta: beta, c: c.baseAddress!, ldc: ldc)
                }
            }
        }
        BLAS.precision = .fp32
        var reference: [Double] = [], magnitude: [Double] = []
        for i in 0..<m {
            for j in 0..<n {
                var sum = Double(beta) * Double(c0[i * ldc + j]), size = abs(sum)
                for p in 0..<k {
                    let x = Double(dae_bf16_round(transposeA ? a[p * lda + i] : a[i * lda + p]))
                    let y = Double(dae_bf16_round(transposeB ? b[j * ldb + p] : b[p * ldb + j]))
                    sum += x * y
                    size += abs(x * y)
                }
                reference.append(sum)
                magnitude.append(size)
            }
            // The columns past n are C's own, left alone.
            for j in n..<ldc { XCTAssertEqual(c[i * ldc + j], c0[i * ldc + j], "column \(j) past n = \(n) was written") }
        }
        let result = (0..<m).flatMap { i in c[(i * ldc)..<(i * ldc + n)] }
        return (result, reference, magnitude)
    }

    /// Small integers are bf16 and float32 exactly, and so are their products and sums: any
    /// misplaced value, pair or tile edge shows as a wrong bit.
    func testIntegerProductsAreExact() {
        for (m, n, k) in shapes {
            for (transposeA, transposeB) in [(false, false), (true, false), (false, true), (true, true)] {
                for beta: Float in [0, 1] {
                    let (result, reference, _) = product(transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, beta: beta) {
                        Float(Int($0.next() % 17) - 8)
                    }
                    let wrong = zip(result, reference).filter { Double($0) != $1 }.count
                    XCTAssertEqual(wrong, 0, "m \(m) n \(n) k \(k) transposes \(transposeA) \(transposeB) beta \(beta)")
                }
            }
        }
    }

    /// Real values: the operands rounded as `dae_bf16_round` does, the sums within float32's
    /// rounding of the Double ones.
    func testRealProductsMatchRoundedOperands() {
        for (m, n, k) in shapes where m * n * k < 20_000_000 {
            for (transposeA, transposeB) in [(false, false), (true, false), (false, true)] {
                let (result, reference, magnitude) = product(transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, beta: 1) {
                    Float(Double($0.next() >> 11) / Double(1 << 53) - 0.5)
                }
                let worst = (0..<result.count).map { abs(Double(result[$0]) - reference[$0]) / max(magnitude[$0], 1e-30) }.max() ?? 0
                XCTAssertLessThan(worst, 1e-5, "m \(m) n \(n) k \(k) transposes \(transposeA) \(transposeB)")
            }
        }
    }

    /// To nearest, ties to even, as VDPBF16PS's operands and PyTorch's bfloat16 round.
    func testRounding() {
        let one = Float(1), ulp = Float(1) / 128  // bf16 has 7 fraction bits
        XCTAssertEqual(dae_bf16_round(one + ulp / 2), one, "a tie goes to the even neighbour")
        XCTAssertEqual(dae_bf16_round(one + ulp + ulp / 2), one + 2 * ulp, "a tie goes to the even neighbour")
        XCTAssertEqual(dae_bf16_round(one + ulp * 0.5001), one + ulp)
        XCTAssertEqual(dae_bf16_round(-3.0), -3.0)
        XCTAssertTrue(dae_bf16_round(.nan).isNaN)
        XCTAssertEqual(dae_bf16_round(.infinity), .infinity)
    }
}
