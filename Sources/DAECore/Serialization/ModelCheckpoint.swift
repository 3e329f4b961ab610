import Foundation
#if canImport(Glibc)
import Glibc
private let systemWrite = Glibc.write
#elseif canImport(Darwin)
import Darwin
private let systemWrite = Darwin.write
#endif

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

/// Writes a file so that readers see the old content or the new, never a part: a temporary
/// file in the same folder, fsync, rename, fsync of the folder.
public enum AtomicFile {
    public static func write(_ data: Data, to path: String) throws {
        let directory = (path as NSString).deletingLastPathComponent
        let temporary = (directory.isEmpty ? "." : directory) + "/.\((path as NSString).lastPathComponent).tmp-\(getpid())"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard fd >= 0 else { throw AtomicFileError(path: path, reason: String(cString: strerror(errno))) }
        var failure: String?
        data.withUnsafeBytes { bytes in
            var offset = 0
            while offset < bytes.count {
                let written = systemWrite(fd, bytes.baseAddress! + offset, bytes.count - offset)
                if written <= 0 { failure = String(cString: strerror(errno)); return }
                offset += written
            }
        }
        if failure == nil && fsync(fd) != 0 { failure = String(cString: strerror(errno)) }
        close(fd)
        if failure == nil && rename(temporary, path) != 0 { failure = String(cString: strerror(errno)) }
        if let failure {
            unlink(temporary)
            throw AtomicFileError(path: path, reason: failure)
        }
        let dirfd = open(directory.isEmpty ? "." : directory, O_RDONLY)
        if dirfd >= 0 { fsync(dirfd); close(dirfd) }
    }
}

public struct AtomicFileError: Error, CustomStringConvertible {
    public let path: String
    public let reason: String
    public var description: String { "\(path): could not be written (\(reason)); nothing was replaced." }
}

/// `mkdir -p`: creates a folder and its missing parents. Failures carry the system's reason
/// ("Permission denied", "Read-only file system"), where Foundation's would say only that
/// "the file doesn't exist".
public enum Directories {
    public static func create(_ path: String) throws {
        var prefix = path.hasPrefix("/") ? "" : "."
        for component in path.split(separator: "/") {
            prefix += "/" + component
            guard mkdir(prefix, 0o755) != 0 else { continue }
            let error = errno
            var status = stat()
            if error == EEXIST && stat(prefix, &status) == 0 {
                if (status.st_mode & S_IFMT) == S_IFDIR { continue }
                throw DirectoryError(path: path, reason: "\(prefix) exists and is not a folder")
            }
            throw DirectoryError(path: path, reason: String(cString: strerror(error)))
        }
    }
}

public struct DirectoryError: Error, CustomStringConvertible {
    public let path: String
    public let reason: String
    public var description: String { "\(path): cannot create this folder (\(reason))." }
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
