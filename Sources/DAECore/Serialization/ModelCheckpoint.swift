import Foundation

/// The model's `state_dict` as safetensors: the PyTorch keys, float32 tensors and int64
/// `num_batches_tracked`, so `model.load_state_dict(safetensors.torch.load_file(path))`
/// works on the reference model. Written atomically.
public enum ModelCheckpoint {
    /// The state_dict tensors in PyTorch's order.
    public static func tensors(of model: Autoencoder) -> [SafeTensors.Tensor] {
        var out: [SafeTensors.Tensor] = []
        let parameters = model.parameters, state = model.batchNormState
        var batchNorm = 0
        for spec in parameters.layout.specs {
            let view = parameters.value(spec.name)
            out.append(SafeTensors.Tensor(name: spec.name, floats: UnsafeBufferPointer(view.buffer), shape: spec.shape))
            // A BatchNorm layer's buffers follow its bias in the state_dict.
            if batchNorm < Architecture.batchNorms.count, spec.name == Architecture.batchNorms[batchNorm].name + ".bias" {
                let prefix = Architecture.batchNorms[batchNorm].name
                for key in ["running_mean", "running_var"] {
                    let stat = state.value("\(prefix).\(key)")
                    out.append(SafeTensors.Tensor(name: "\(prefix).\(key)", floats: UnsafeBufferPointer(stat.buffer), shape: stat.shape))
                }
                out.append(SafeTensors.Tensor(name: "\(prefix).num_batches_tracked", int64s: [state.batchesTracked[batchNorm]], shape: []))
                batchNorm += 1
            }
        }
        return out
    }

    public static func save(_ model: Autoencoder, to path: String, metadata: [String: String] = [:]) throws {
        try AtomicFile.write(SafeTensors.encode(tensors(of: model), metadata: metadata), to: path)
    }

    /// Loads parameters and BatchNorm state written by `save` (or by PyTorch), checking names and shapes.
    public static func load(_ model: Autoencoder, from file: SafeTensors) throws {
        for spec in model.parameters.layout.specs {
            try file.copyFloats(spec.name, shape: spec.shape, into: model.parameters.value(spec.name).pointer)
        }
        for spec in model.batchNormState.layout.specs {
            try file.copyFloats(spec.name, shape: spec.shape, into: model.batchNormState.value(spec.name).pointer)
        }
        for (i, bn) in Architecture.batchNorms.enumerated() {
            let counter = try file.int64s(bn.name + ".num_batches_tracked")
            guard counter.count == 1 else {
                throw SafeTensorsError.mismatch(path: file.source, name: bn.name + ".num_batches_tracked", reason: "\(counter.count) values, expected 1")
            }
            model.batchNormState.batchesTracked[i] = counter[0]
        }
    }
}

extension ModelCheckpoint {
    /// A model (evaluation use) from a checkpoint file, its latent size read from the file.
    public static func loadModel(path: String, maxBatch: Int) throws -> Autoencoder {
        let file = try SafeTensors.read(path: path)
        let entry = try file.entry("encoder.encoder.10.weight")
        guard entry.shape.count == 2, entry.shape[1] == Architecture.bottleneckFeatures, entry.shape[0] >= 1, entry.shape[0] <= 4096 else {
            throw SafeTensorsError.mismatch(path: path, name: "encoder.encoder.10.weight",
                                            reason: "shape \(entry.shape), expected [latent, \(Architecture.bottleneckFeatures)]")
        }
        let model = Autoencoder(latentDim: entry.shape[0], maxBatch: maxBatch)
        try load(model, from: file)
        return model
    }
}
