import DAECore
import XCTest

/// im2col and col2im (`Im2col.unfold`, `fold`) against their definitions, for every build of
/// the C kernels this CPU runs.
final class Im2colTests: XCTestCase {
    /// The geometries the im2col tests cover: the general loops, and the halving convolutions'
    /// own kernel (3x3, stride 2, padding 1, even side) at row lengths on and off its 4-pair
    /// vector steps (3, 4, 5, 7 and 14 output columns; the model's are 14 and 7) and at both
    /// sides of the AVX-512 build's one-register rows (16 and 17).
    static let im2colGeometries = [(7, 3, 2, 1), (6, 3, 1, 1), (5, 4, 1, 0), (8, 3, 2, 0),
                                   (6, 3, 2, 1), (8, 3, 2, 1), (10, 3, 2, 1), (14, 3, 2, 1), (28, 3, 2, 1),
                                   (32, 3, 2, 1), (34, 3, 2, 1)]

    /// im2col by its definition: exactly equal.
    func testUnfoldMatchesItsDefinition() {
        forEachKernelBuild {
            for (side, k, s, p) in Self.im2colGeometries {
                let g = ConvGeometry(channels: 2, height: side, width: side, kernel: k, stride: s, padding: p)
                let batch = 3, (oh, ow) = (g.outHeight, g.outWidth)
                let x = FloatBuffer(randomValues(2 * batch * side * side, seed: 17).map(Float.init))
                let col = FloatBuffer(count: g.patchSize * batch * g.outputPlane)
                Im2col.unfold(x.pointer, images: 0..<batch, batch: batch, geometry: g, into: col.pointer)
                var expected = [Float](repeating: 0, count: col.count)
                for c in 0..<2 { for ki in 0..<k { for kj in 0..<k { for n in 0..<batch { for y in 0..<oh { for xo in 0..<ow {
                    let (iy, ix) = (y * s - p + ki, xo * s - p + kj)
                    let value = iy >= 0 && iy < side && ix >= 0 && ix < side ? x[((c * batch + n) * side + iy) * side + ix] : 0
                    expected[((c * k + ki) * k + kj) * batch * oh * ow + (n * oh + y) * ow + xo] = value
                } } } } } }
                XCTAssertEqual(col.array, expected, "side \(side) k\(k) s\(s) p\(p)")
            }
        }
    }

    /// col2im by its definition, on small integers so that every order of the sums is exact.
    func testFoldMatchesItsDefinition() {
        forEachKernelBuild {
            for (side, k, s, p) in Self.im2colGeometries {
                let g = ConvGeometry(channels: 2, height: side, width: side, kernel: k, stride: s, padding: p)
                let batch = 3, (oh, ow) = (g.outHeight, g.outWidth)
                let col = FloatBuffer(randomValues(g.patchSize * batch * g.outputPlane, seed: 18).map { Float(($0 * 16).rounded()) })
                let initial = FloatBuffer([3, -5])
                let folded = FloatBuffer(count: 2 * batch * side * side)
                Im2col.fold(col.pointer, images: 0..<batch, batch: batch, geometry: g, into: folded.pointer, startingFrom: initial.pointer)
                var expected = [Float](repeating: 0, count: folded.count)
                for c in 0..<2 { for i in 0..<(batch * side * side) { expected[c * batch * side * side + i] = initial[c] } }
                for c in 0..<2 { for ki in 0..<k { for kj in 0..<k { for n in 0..<batch { for y in 0..<oh { for xo in 0..<ow {
                    let (iy, ix) = (y * s - p + ki, xo * s - p + kj)
                    guard iy >= 0 && iy < side && ix >= 0 && ix < side else { continue }
                    expected[((c * batch + n) * side + iy) * side + ix] += col[((c * k + ki) * k + kj) * batch * oh * ow + (n * oh + y) * ow + xo]
                } } } } } }
                XCTAssertEqual(folded.array, expected, "side \(side) k\(k) s\(s) p\(p)")
            }
        }
    }

    /// A shard slice (images 1 and 2 of 3) unfolds to the whole batch's columns of those
    /// images, and folds onto those images alone.
    func testSliceUnfoldsAndFoldsAsInTheWholeBatch() {
        forEachKernelBuild {
            for (side, k, s, p) in Self.im2colGeometries {
                let g = ConvGeometry(channels: 2, height: side, width: side, kernel: k, stride: s, padding: p)
                let (batch, plane, image) = (3, g.outputPlane, side * side)
                let x = FloatBuffer(randomValues(2 * batch * image, seed: 19).map(Float.init))
                let whole = FloatBuffer(count: g.patchSize * batch * plane), slice = FloatBuffer(count: g.patchSize * 2 * plane)
                Im2col.unfold(x.pointer, images: 0..<batch, batch: batch, geometry: g, into: whole.pointer)
                Im2col.unfold(x.pointer, images: 1..<3, batch: batch, geometry: g, into: slice.pointer)
                for row in 0..<g.patchSize {
                    XCTAssertEqual(Array(slice.array[(row * 2 * plane)..<((row + 1) * 2 * plane)]),
                                   Array(whole.array[(row * batch * plane + plane)..<((row + 1) * batch * plane)]), "side \(side) k\(k) s\(s) p\(p)")
                }
                let foldedWhole = FloatBuffer(count: x.count), foldedSlice = FloatBuffer(Array(repeating: 7, count: x.count))
                Im2col.fold(whole.pointer, images: 0..<batch, batch: batch, geometry: g, into: foldedWhole.pointer)
                Im2col.fold(slice.pointer, images: 1..<3, batch: batch, geometry: g, into: foldedSlice.pointer)
                for c in 0..<2 {
                    let range = (c * batch * image)..<((c + 1) * batch * image)
                    XCTAssertEqual(Array(foldedSlice.array[range].prefix(image)), Array(repeating: 7, count: image), "image 0 untouched")
                    XCTAssertEqual(Array(foldedSlice.array[range].dropFirst(image)), Array(foldedWhole.array[range].dropFirst(image)),
                                   "side \(side) k\(k) s\(s) p\(p)")
                }
            }
        }
    }

    /// `fold` is the adjoint of `unfold`: <unfold(x), c> == <x, fold(c)> for any x, c.
    func testFoldIsAdjointOfUnfold() {
        forEachKernelBuild {
            for (side, k, s, p) in Self.im2colGeometries {
                let g = ConvGeometry(channels: 2, height: side, width: side, kernel: k, stride: s, padding: p)
                let batch = 3
                let x = FloatBuffer(randomValues(2 * batch * side * side, seed: 15).map(Float.init))
                let c = FloatBuffer(randomValues(g.patchSize * batch * g.outputPlane, seed: 16).map(Float.init))
                let unfolded = FloatBuffer(count: c.count), folded = FloatBuffer(count: x.count)
                Im2col.unfold(x.pointer, images: 0..<batch, batch: batch, geometry: g, into: unfolded.pointer)
                Im2col.fold(c.pointer, images: 0..<batch, batch: batch, geometry: g, into: folded.pointer)
                let left = zip(unfolded.array, c.array).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
                let right = zip(x.array, folded.array).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
                XCTAssertEqual(left, right, accuracy: 1e-4 * max(1, abs(left)), "side \(side) k\(k) s\(s) p\(p)")
            }
        }
    }

    /// col2im on values that round (and on zeros of both signs) gives the same bits in every
    /// build: its additions are the same, in the same order, whatever the vector width.
    func testFoldGivesTheSameBitsInEveryBuild() {
        for (side, k, s, p) in Self.im2colGeometries {
            let g = ConvGeometry(channels: 2, height: side, width: side, kernel: k, stride: s, padding: p)
            let batch = 3
            let values = randomValues(g.patchSize * batch * g.outputPlane, seed: 19).enumerated().map { i, v -> Float in
                i % 7 == 0 ? -0.0 : Float(v) * 1.37
            }
            let col = FloatBuffer(values), initial = FloatBuffer([-0.0, 0.3])
            var folds: [[UInt32]] = []
            forEachKernelBuild {
                let folded = FloatBuffer(count: 2 * batch * side * side)
                Im2col.fold(col.pointer, images: 0..<batch, batch: batch, geometry: g, into: folded.pointer, startingFrom: initial.pointer)
                folds.append(folded.array.map(\.bitPattern))
            }
            for fold in folds.dropFirst() { XCTAssertEqual(fold, folds[0], "side \(side) k\(k) s\(s) p\(p)") }
        }
    }
}
