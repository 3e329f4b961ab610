/// The backward pass of the single-channel convolutions that run directly (`Direct3x3`): the
/// kernels of `Kernels/`, with the weight gradient summed slice by slice as every layer sums it
/// (`Parameter.sumOverSlices`).
extension Direct3x3 {
    /// Either layer's backward: the weight gradient summed over the batch's slices into
    /// `weight` (see `Parameter`), then, per slice while its data is in cache, the input
    /// gradient: `gradSingle = convolveAdjoint(multi)` for a convolution (its input is the
    /// single channel, `multi` its output gradient), `gradMulti = convolve(single)` for a
    /// transposed one (its input is `multi`, `single` its output gradient).
    static func backward(multi: UnsafePointer<Float>, single: UnsafePointer<Float>, weight: Parameter, channels: Int,
                         slices: [Int], geometry g: ConvGeometry, scratch: ThreadScratch,
                         gradSingle: UnsafeMutablePointer<Float>? = nil, gradMulti: UnsafeMutablePointer<Float>? = nil) {
        let batch = slices.reduce(0, +)
        scratch.reserveColumns(for: slices, floatsPerImage: workspacePerImage(geometry: g))
        weight.sumOverSlices(slices, scratch: scratch) { worker, start, size, partial in
            let (images, workspace) = (start..<(start + size), scratch.columns(worker))
            weightGradient(multi, single, channels: channels, images: images, batch: batch, geometry: g, workspace: workspace, into: partial)
            if let gradSingle {
                convolveAdjoint(multi, weights: weight.value, initial: 0, into: gradSingle, channels: channels, images: images,
                                batch: batch, geometry: g, workspace: workspace)
            }
            if let gradMulti {
                convolve(single, weights: weight.value, bias: nil, into: gradMulti, channels: channels, images: images,
                         batch: batch, geometry: g, workspace: workspace)
            }
        }
    }
}
