import Foundation

/// The model's `state_dict` as safetensors: the PyTorch keys, float32 tensors and int64
/// `num_batches_tracked`, so `model.load_state_dict(safetensors.torch.load_file(path))`
/// works on the reference model, and the architecture in the metadata (`Architecture.metadata`),
/// so loading rebuilds the model the file holds. Written atomically.
public enum ModelCheckpoint {
    /// The state_dict tensors in PyTorch's order: each layer's weight and bias, and after a
    /// BatchNorm's its running statistics and `num_batches_tracked`.
    public static func tensors(of model: Autoencoder) -> [SafeTensors.Tensor] {
        var out: [SafeTensors.Tensor] = []
        let parameters = model.parameters, state = model.batchNormState
        func append(_ view: TensorView) {
            out.append(SafeTensors.Tensor(name: view.name, floats: UnsafeBufferPointer(view.buffer), shape: view.shape))
        }
        var batchNorm = 0
        for layer in model.architecture.layers where layer.module.isWeighted || layer.module == .batchNorm2d {
            append(parameters.value(layer.key + ".weight"))
            append(parameters.value(layer.key + ".bias"))
            guard layer.module == .batchNorm2d else { continue }
            append(state.value(layer.key + ".running_mean"))
            append(state.value(layer.key + ".running_var"))
            out.append(SafeTensors.Tensor(name: layer.key + ".num_batches_tracked", int64s: [state.batchesTracked[batchNorm]], shape: []))
            batchNorm += 1
        }
        return out
    }

    public static func save(_ model: Autoencoder, to path: String, metadata: [String: String] = [:]) throws {
        try AtomicFile.write(SafeTensors.encode(tensors(of: model), metadata: metadata.merging(model.architecture.metadata) { $1 }), to: path)
    }

    /// Loads parameters and BatchNorm state written by `save` (or by PyTorch), checking names and shapes.
    public static func load(_ model: Autoencoder, from file: SafeTensors) throws {
        for spec in model.parameters.layout.specs {
            try file.copyFloats(spec.name, shape: spec.shape, into: model.parameters.value(spec.name).pointer)
        }
        for spec in model.batchNormState.layout.specs {
            try file.copyFloats(spec.name, shape: spec.shape, into: model.batchNormState.value(spec.name).pointer)
        }
        for (i, bn) in model.architecture.batchNorms.enumerated() {
            let counter = try file.int64s(bn.key + ".num_batches_tracked")
            guard counter.count == 1 else {
                throw SafeTensorsError.mismatch(path: file.source, name: bn.key + ".num_batches_tracked", reason: "\(counter.count) values, expected 1")
            }
            model.batchNormState.batchesTracked[i] = counter[0]
        }
    }
}

extension ModelCheckpoint {
    /// A model (evaluation use) from a checkpoint file, of the architecture it holds.
    public static func loadModel(path: String, maxBatch: Int) throws -> Autoencoder {
        let file = try SafeTensors.read(path: path)
        let model = Autoencoder(architecture: try architecture(of: file), maxBatch: maxBatch)
        try load(model, from: file)
        return try finite(model, path: path)
    }

    /// The architecture `file` holds: the one its metadata records, or, for files that record
    /// none (written before it was recorded), the standard one with the latent size of its weights.
    public static func architecture(of file: SafeTensors) throws -> Architecture {
        let path = file.source
        let recorded: Architecture?
        do { recorded = try Architecture(metadata: file.metadata) } catch {
            throw SafeTensorsError.corrupt(path: path, reason: "its recorded architecture cannot be built: \(error)")
        }
        if let recorded {
            guard recorded.latentDim <= Architecture.maxLatentDim else {
                throw SafeTensorsError.corrupt(path: path, reason: "its latent code has \(recorded.latentDim) values, more than \(Architecture.maxLatentDim)")
            }
            return recorded
        }
        // The latent size is the one the table leaves free: read it from the latent layer's weight.
        let latentLayer = Architecture.standard(latentDim: 1).latentLayer
        let name = latentLayer.key + ".weight", features = latentLayer.input.count
        let entry = try file.entry(name)
        guard entry.shape.count == 2, entry.shape[1] == features, entry.shape[0] >= 1, entry.shape[0] <= Architecture.maxLatentDim else {
            throw SafeTensorsError.mismatch(path: path, name: name, reason: "shape \(entry.shape), expected [latent, \(features)]")
        }
        return .standard(latentDim: entry.shape[0])
    }

    /// `model`, when every weight and statistic it loaded is a finite number: a model with NaN
    /// or infinite values (a diverged run's) gives no meaningful output, so it is refused.
    private static func finite(_ model: Autoencoder, path: String) throws -> Autoencoder {
        for (name, layout, buffer) in [("weights", model.parameters.layout, model.parameters.values),
                                       ("BatchNorm statistics", model.batchNormState.layout, model.batchNormState.values)] {
            for (spec, start) in zip(layout.specs, layout.offsets) {
                if let bad = (start..<(start + spec.count)).first(where: { !buffer[$0].isFinite }) {
                    throw SafeTensorsError.corrupt(path: path, reason: "its \(name) hold values that are not finite numbers (\(buffer[bad]) in \(spec.name)): "
                        + "the run that wrote it diverged; use an earlier checkpoint, or train again with a lower --lr")
                }
            }
        }
        return model
    }
}
