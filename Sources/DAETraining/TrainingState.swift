import DAECore
import DAEData
import Foundation

/// Where a run is, beyond the model: what `last.safetensors` adds so a run can resume
/// exactly where it stopped, on any number of ranks.
public struct TrainingPosition: Sendable, Equatable {
    /// The epoch in progress (0-based) and the next step within it.
    public var epoch = 0
    public var stepInEpoch = 0
    /// The training losses of the epoch so far (for its T_loss).
    public var epochLossSum = 0.0
    public var epochSteps = 0
}

/// `last.safetensors`: the model's `state_dict`, Adam's moments (`optimizer.exp_avg`,
/// `optimizer.exp_avg_sq`, flat in parameter order) and, as metadata, Adam's step, the
/// position, the early-stopping state and the configuration. Reading checks every name,
/// shape and number and names the file and the problem.
public enum TrainingState {
    public static let format = "dae-dist-training-state-1"

    public static func encode(model: Autoencoder, optimizer: Adam, position: TrainingPosition, earlyStopping: EarlyStopping,
                              config: TrainingConfig, worldSize: Int) -> Data {
        var tensors = ModelCheckpoint.tensors(of: model)
        tensors.append(SafeTensors.Tensor(name: "optimizer.exp_avg", floats: UnsafeBufferPointer(optimizer.firstMoment.buffer), shape: [optimizer.firstMoment.count]))
        tensors.append(SafeTensors.Tensor(name: "optimizer.exp_avg_sq", floats: UnsafeBufferPointer(optimizer.secondMoment.buffer), shape: [optimizer.secondMoment.count]))
        var metadata = [
            "format": format, "adam_step": String(optimizer.step), "step": String(optimizer.step),
            "epoch": String(position.epoch), "step_in_epoch": String(position.stepInEpoch),
            "epoch_loss_sum": String(position.epochLossSum), "epoch_steps": String(position.epochSteps),
            "early_stop_counter": String(earlyStopping.counter), "latent_dim": String(model.latentDim),
            "world_size": String(worldSize), "config": JSON.encode(config.fields),
        ]
        if let best = earlyStopping.best { metadata["early_stop_best"] = String(best) }
        metadata.merge(model.architecture.metadata) { $1 }
        return SafeTensors.encode(tensors, metadata: metadata)
    }

    /// Each setting that shapes the trajectory (`RunSetting.shapesTrajectory`) whose value in
    /// `file`'s saved config differs from `config`'s, compared as the setting's type, as
    /// "--seed 0 (this run: 3)"; none for a file that saved no config.
    public static func trajectoryChanges(_ file: SafeTensors, config: TrainingConfig) -> [String] {
        func parse(_ json: String) -> [String: Any] {
            (try? JSONSerialization.jsonObject(with: Data(json.utf8))) as? [String: Any] ?? [:]
        }
        guard let saved = file.metadata["config"].map(parse), !saved.isEmpty else { return [] }
        let current = parse(JSON.encode(config.fields))
        func text(_ value: Any?) -> String {
            switch value {
            case nil, is NSNull: return "none"
            case let list as [Any]: return list.map { "\($0)" }.joined(separator: ",")
            case let value?: return "\(value)"
            }
        }
        return RunSetting.all.filter(\.shapesTrajectory).compactMap { setting in
            setting.matches(saved[setting.key], config) ? nil
                : "\(setting.flag) \(text(saved[setting.key] ?? setting.recordedBefore)) (this run: \(text(current[setting.key])))"
        }
    }

    /// Restores `model`, `optimizer`, and returns the position and early-stopping state.
    public static func restore(_ file: SafeTensors, model: Autoencoder, optimizer: Adam, patience: Int, delta: Double) throws
        -> (TrainingPosition, EarlyStopping) {
        func fail(_ why: String) -> TrainingError { .badCheckpoint(path: file.source, reason: why) }
        guard file.metadata["format"] == format else {
            throw fail("it is not a dae-dist training state (no '\(format)' marker); resume from a last.safetensors written by dae-dist train")
        }
        guard let latent = file.metadata["latent_dim"].flatMap(Int.init), latent == model.latentDim else {
            throw fail("it was written with --latent-dim \(file.metadata["latent_dim"] ?? "?"), this run uses \(model.latentDim)")
        }
        let saved: Architecture
        do { saved = try ModelCheckpoint.architecture(of: file) } catch { throw fail("\(error)") }
        guard saved == model.architecture else {
            throw fail("it holds another architecture (\(saved.metadata[Architecture.encoderKey] ?? "?") / \(saved.metadata[Architecture.decoderKey] ?? "?")) than this run's")
        }
        // Counters past 2^40 (a trillion steps) are not from a real run, and arithmetic on
        // values near Int.max would trap: refused, like any other invalid value.
        func integer(_ key: String) throws -> Int {
            guard let value = file.metadata[key].flatMap(Int.init), value >= 0, value <= 1 << 40 else {
                throw fail("metadata '\(key)' is missing or invalid (\(file.metadata[key] ?? "absent"); a count from 0 to 2^40 is expected)")
            }
            return value
        }
        func real(_ key: String) throws -> Double {
            guard let value = file.metadata[key].flatMap(Double.init), value.isFinite else { throw fail("metadata '\(key)' is missing or invalid") }
            return value
        }
        do {
            try ModelCheckpoint.load(model, from: file)
            try file.copyFloats("optimizer.exp_avg", shape: [optimizer.firstMoment.count], into: optimizer.firstMoment.pointer)
            try file.copyFloats("optimizer.exp_avg_sq", shape: [optimizer.secondMoment.count], into: optimizer.secondMoment.pointer)
        } catch let error as SafeTensorsError {
            throw fail("\(error)")
        }
        optimizer.step = try integer("adam_step")
        let position = TrainingPosition(epoch: try integer("epoch"), stepInEpoch: try integer("step_in_epoch"),
                                        epochLossSum: try real("epoch_loss_sum"), epochSteps: try integer("epoch_steps"))
        let best = try file.metadata["early_stop_best"].map { _ in try real("early_stop_best") }
        let stopping = EarlyStopping(patience: patience, delta: delta, best: best, counter: try integer("early_stop_counter"))
        return (position, stopping)
    }
}
