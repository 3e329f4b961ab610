import CKernels

/// The model's halving convolutions (3x3, stride 2, padding 1, even input side) have their
/// own im2col and col2im in C (`CKernels`, halving.c): an input row's even values are kernel
/// column 1's, its odd values column 2's and, one place on, column 0's, so one pass per row
/// serves a whole kernel row, 4 pairs at a time, in the widest build the CPU runs (`KernelBuild`).
///
/// In fp32 under the AVX-512 build, their forward product skips im2col altogether
/// (halving_conv.c): each 32 output pixels' columns are packed from the input straight into
/// an L1-sized panel for dae-dist's own micro-kernel, which saves writing and reading back a
/// buffer of nine times the input and OpenBLAS's own packing of it. Their weight gradient
/// likewise: per chunk of 128 pixels the columns are packed the same way and the output
/// gradient's rows transposed, and the same micro-kernel reduces over the pixels, broadcasting
/// the columns. A transposed convolution's input gradient is a convolution's forward, so it
/// uses the first.
/// Their adjoint product (a convolution's input gradient, a transposed one's forward) keeps
/// its col2im (four parity-class products without it measured slower, see
/// bench/PERFORMANCE.md), but its GEMM is the same micro-kernel, over a panel of the source
/// copied 32 pixels at a time (`adjointWeights`, `Im2col.multiplyAndFold`).
enum Halving {
    static func applies(to g: ConvGeometry) -> Bool {
        g.kernel == 3 && g.stride == 2 && g.padding == 1 && g.width == 2 * g.outWidth && g.height == 2 * g.outHeight
    }

    /// Whether `fusedForward` runs for `rows` output channels: a halving geometry, fp32
    /// products and the AVX-512 kernels (bf16 products go through `BLAS.gemm`'s bf16 GEMM).
    /// Not while `BLAS.shapeRecorder` lists a step's products (`dae-dist bench`'s sgemm
    /// roofline): then the step makes every product through `BLAS.gemm`.
    static func fuses(_ g: ConvGeometry, rows: Int) -> Bool {
        mayFuse(g) && dae_halving_conv_applies(rows, g.width) != 0
    }

    /// What both fused products need from the run: a halving geometry, fp32 products, and no
    /// shape recorder listing the step's products.
    private static func mayFuse(_ g: ConvGeometry) -> Bool {
        applies(to: g) && BLAS.precision == .fp32 && BLAS.shapeRecorder == nil
    }

    /// `output[rows][batch * OH * OW] = bias + W x im2col(input)`, `W` `[rows][C * 9]`, one
    /// shard slice at a time on the compute threads: what `Conv2d.forward` does with im2col
    /// and a GEMM, without the columns (only where `fuses`).
    static func fusedForward(_ input: UnsafePointer<Float>, weight: UnsafePointer<Float>, bias: UnsafePointer<Float>?,
                             rows: Int, into output: UnsafeMutablePointer<Float>, slices: [Int], geometry g: ConvGeometry,
                             scratch: ThreadScratch) {
        let batch = slices.reduce(0, +)
        let packed = scratch.packedWeights(count: dae_halving_conv_packed_floats(rows, g.patchSize))
        dae_halving_conv_pack_weights(weight, rows, g.patchSize, 0, packed)
        scratch.reserveColumns(for: slices, count: dae_halving_conv_panel_floats(g.channels))
        Parallel.forEachSlice(slices) { worker, _, start, size in
            dae_halving_conv_forward(input, packed, bias, output, rows, g.channels, start, size, batch, g.height, g.width,
                                     scratch.columns(worker))
        }
    }

    /// `W` (`[k][C * 9]`) packed for the adjoint product `W^T x source` ahead of col2im, in
    /// `scratch`, or nil where that product goes through `BLAS.gemm` (as `fuses`, for the
    /// C * 9 rows of the product).
    static func adjointWeights(_ weight: UnsafePointer<Float>, k: Int, geometry g: ConvGeometry,
                               scratch: ThreadScratch) -> UnsafePointer<Float>? {
        guard fuses(g, rows: g.patchSize) else { return nil }
        let packed = scratch.packedWeights(count: dae_halving_conv_packed_floats(g.patchSize, k))
        dae_halving_conv_pack_weights(weight, g.patchSize, k, 1, packed)
        return UnsafePointer(packed)
    }

    /// Floats after a chunk's columns that `adjointColumns` needs for its panel.
    static func adjointPanelFloats(k: Int) -> Int { dae_halving_conv_adjoint_panel_floats(k) }

    /// `col` (`[C * 9][pixels]`) = `W^T x source` for `pixels` pixels of `source` (`[k][ld]`),
    /// `W` packed by `adjointWeights`, on the calling thread; its panel right after the
    /// columns, in the room `adjointPanelFloats` asked for.
    static func adjointColumns(packed: UnsafePointer<Float>, k: Int, source: UnsafePointer<Float>, ld: Int, pixels: Int,
                               geometry g: ConvGeometry, into col: UnsafeMutablePointer<Float>) {
        dae_halving_conv_adjoint_columns(packed, g.patchSize, k, source, ld, pixels, col, col + g.patchSize * pixels)
    }

    /// Whether `fusedWeightGradient` runs for `rows` gradient rows and the unfolded operand's
    /// `g.channels` (as `fuses`, with rows and channels multiples of 32: so it implies
    /// `fuses(g, rows: rows)`).
    static func fusesWeightGradient(_ g: ConvGeometry, rows: Int) -> Bool {
        mayFuse(g) && dae_halving_conv_weight_gradient_applies(rows, g.channels, g.width) != 0
    }

    /// `weight`'s gradient `rows x im2col(unfolding)^T` (`rows` `[m][batch * OH * OW]`),
    /// summed slice by slice (`Parameter.sumOverSlices`): what `Im2col.weightProduct` makes
    /// chunk by chunk, without the columns (only where `fusesWeightGradient(g, rows: m)`).
    static func fusedWeightGradient(of weight: Parameter, rows: UnsafePointer<Float>, m: Int, unfolding input: UnsafePointer<Float>,
                                    slices: [Int], geometry g: ConvGeometry, scratch: ThreadScratch) {
        let batch = slices.reduce(0, +)
        scratch.reserveColumns(for: slices, count: dae_halving_conv_weight_gradient_scratch_floats(m, g.channels))
        weight.sumOverSlices(slices, scratch: scratch) { worker, start, size, partial in
            dae_halving_conv_weight_gradient(rows, batch * g.outputPlane, input, partial, m, g.channels, start, size, batch,
                                             g.height, g.width, scratch.columns(worker))
        }
    }
}
