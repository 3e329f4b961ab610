/// The model's halving convolutions (3x3, stride 2, padding 1, even input side) have their
/// own im2col and col2im in C (`CKernels`, halving.c): an input row's even values are kernel
/// column 1's, its odd values column 2's and, one place on, column 0's, so one pass per row
/// serves a whole kernel row, 4 pairs at a time, in the widest build the CPU runs (`KernelBuild`).
enum Halving {
    static func applies(to g: ConvGeometry) -> Bool {
        g.kernel == 3 && g.stride == 2 && g.padding == 1 && g.width == 2 * g.outWidth && g.height == 2 * g.outHeight
    }
}
