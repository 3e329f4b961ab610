import DAECore
import DAEData
import DAETraining
import Foundation
import XCTest

/// The table of run settings: one key per setting, config.json derived from it, and the
/// resume check comparing typed values.
final class RunSettingsTests: XCTestCase {
    private func savedState(config: String) throws -> SafeTensors {
        try SafeTensors(data: SafeTensors.encode([], metadata: ["config": config]), source: "last.safetensors")
    }

    func testEverySettingHasOneKeyAndConfigJSONFollowsTheTable() {
        let keys = RunSetting.all.map(\.key)
        XCTAssertEqual(Set(keys).count, keys.count)
        XCTAssertEqual(TrainingConfig.defaults.fields.fields.map(\.0), keys)
        XCTAssertTrue(keys.contains("batch_size") && keys.contains("precision") && keys.contains("min_steps"))
        XCTAssertEqual(RunSetting.batchSize.flag, "--batch-size")
    }

    func testResumeComparesTypedValues() throws {
        var config = TrainingConfig.defaults
        config.learningRate = 0.0012345678  // not exact in 7 digits: must not read as a change
        config.digits = [1, 2]
        let saved = JSON.encode(config.fields)
        XCTAssertEqual(TrainingState.trajectoryChanges(try savedState(config: saved), config: config), [])

        var changed = config
        (changed.seed, changed.digits, changed.precision) = (3, [1], .bf16)
        XCTAssertEqual(TrainingState.trajectoryChanges(try savedState(config: saved), config: changed),
                       ["--digits 1,2 (this run: 1)", "--seed 0 (this run: 3)", "--precision fp32 (this run: bf16)"])
        // Settings that do not shape the trajectory may change.
        changed = config
        (changed.maxSteps, changed.logEvery, changed.threads) = (7, 1, 2)
        XCTAssertEqual(TrainingState.trajectoryChanges(try savedState(config: saved), config: changed), [])
    }

    func testSettingsRecordedLaterReadAsTheirEarlierValue() throws {
        // A state saved before `noise` and `precision` were recorded: it used Gaussian noise and fp32.
        var object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(JSON.encode(TrainingConfig.defaults.fields).utf8)) as? [String: Any])
        object["noise"] = nil
        object["precision"] = nil
        let saved = String(decoding: try JSONSerialization.data(withJSONObject: object), as: UTF8.self)
        XCTAssertEqual(TrainingState.trajectoryChanges(try savedState(config: saved), config: .defaults), [])
        var masking = TrainingConfig.defaults
        masking.noise = .masking
        XCTAssertEqual(TrainingState.trajectoryChanges(try savedState(config: saved), config: masking), ["--noise gaussian (this run: masking)"])
    }
}
