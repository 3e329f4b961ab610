import Foundation

/// `--config <file.json>`: flag values from a JSON object, overridden by flags given on the
/// command line. Keys are flag names (`"batch-size": 128`) or the snake_case keys of a run's
/// `config.json` (`"batch_size"`; its `{"config": {...}}` wrapper is accepted), so a run's
/// configuration can be replayed. `true` / `false` select `--name` / `--no-name`; null is skipped.
enum ConfigFile {
    /// Flags a config file may set (the boolean ones listed apart).
    static let valueFlags: Set<String> = [
        "data-dir", "dataset", "epochs", "batch-size", "lr", "latent-dim", "noise-factor", "val-size", "seed", "shards", "bn",
        "threads", "max-steps", "limit-train", "log-every", "collective-timeout", "consistency-every", "validation-interval",
        "early-stop-patience", "early-stop-delta", "checkpoint-every", "run-name", "out-dir", "synthetic-size", "resume",
    ]
    static let booleanFlags: Set<String> = ["download", "overlap", "no-denoising"]

    struct Failure: Error, CustomStringConvertible {
        let message: String
        var description: String { message }
    }

    /// The arguments with `--config FILE` replaced by the file's flags, placed before the
    /// command line's own (the parser keeps the last value given, so the command line wins).
    static func expand(_ arguments: [String]) throws -> [String] {
        guard let index = arguments.firstIndex(where: { $0 == "--config" || $0.hasPrefix("--config=") }) else { return arguments }
        let path: String
        var rest = arguments
        if arguments[index].hasPrefix("--config=") {
            path = String(arguments[index].dropFirst("--config=".count))
            rest.remove(at: index)
        } else {
            guard index + 1 < arguments.count else { throw Failure(message: "--config: give the path of a JSON file.") }
            path = arguments[index + 1]
            rest.removeSubrange(index...(index + 1))
        }
        guard let data = FileManager.default.contents(atPath: path) else { throw Failure(message: "--config: \(path): no such file.") }
        guard var object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
            throw Failure(message: "--config: \(path) is not a JSON object of flag values.")
        }
        if let inner = object["config"] as? [String: Any] { object = inner }
        var flags: [String] = []
        for key in object.keys.sorted() {
            let name = key.replacingOccurrences(of: "_", with: "-")
            let value = object[key]!
            if value is NSNull { continue }
            if booleanFlags.contains(name) || (name == "denoising") {
                guard let flag = value as? Bool else { throw Failure(message: "--config: \(path): \"\(key)\" must be true or false.") }
                if name == "no-denoising" { if flag { flags.append("--no-denoising") } } else { flags.append(flag ? "--\(name)" : "--no-\(name)") }
                continue
            }
            guard valueFlags.contains(name) else {
                throw Failure(message: "--config: \(path): unknown setting \"\(key)\" (see dae-dist train --help for the flags).")
            }
            let text: String
            switch value {
            case let number as NSNumber: text = number.stringValue
            case let string as String: text = string
            default: throw Failure(message: "--config: \(path): \"\(key)\" must be a number or a string.")
            }
            flags += ["--\(name)", text]
        }
        // Subcommand name (if any) first, then the file's flags, then the command line's.
        if let first = rest.first, !first.hasPrefix("-") { return [first] + flags + rest.dropFirst() }
        return flags + rest
    }
}
