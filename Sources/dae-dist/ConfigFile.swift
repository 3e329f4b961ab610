import DAECore
import Foundation

/// `--config <file.json>`: flag values from a JSON object, overridden by flags given on the
/// command line. Keys are flag names (`"batch-size": 128`) or the snake_case keys of a run's
/// `config.json` (`"batch_size"`; its `{"config": {...}}` wrapper is accepted), so a run's
/// configuration can be replayed. `true` / `false` select `--name` / `--no-name` (`false` for
/// a `no-` flag selects nothing); null is skipped. The command's own parser checks the flags,
/// so they are declared nowhere else; an unknown key is reported naming the file.
struct ConfigFile {
    /// The file's path, and the flag each of its keys became (`--batch-size` for `batch_size`).
    let path: String
    let flagsFromKeys: [(flag: String, key: String)]

    struct Failure: Error, CustomStringConvertible {
        let message: String
        var description: String { message }
    }

    /// The arguments with `--config FILE` replaced by the file's flags, placed before the
    /// command line's own (the parser keeps the last value given, so the command line wins),
    /// and the file they came from (nil without `--config`).
    static func expand(_ arguments: [String]) throws -> (arguments: [String], file: ConfigFile?) {
        guard let index = arguments.firstIndex(where: { $0 == "--config" || $0.hasPrefix("--config=") }) else { return (arguments, nil) }
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
        let data: Data
        do { data = try InputFile.read(path, limit: 16 << 20) } catch { throw Failure(message: "--config: \(error).") }
        guard var object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
            throw Failure(message: "--config: \(path) is not a JSON object of flag values.")
        }
        if let inner = object["config"] as? [String: Any] {
            // A run's config.json: replayed as a new run, not into the recorded run's folder.
            object = inner
            object["out_dir"] = nil
        }
        var flags: [String] = []
        var origins: [(flag: String, key: String)] = []
        for key in object.keys.sorted() {
            guard !key.isEmpty, key.allSatisfy({ $0.isLowercase || $0.isNumber || $0 == "_" || $0 == "-" }), key.first?.isLetter == true else {
                throw Failure(message: "--config: \(path): \"\(key.prefix(40))\" is not a flag name (lower-case words joined by - or _, as in \"batch_size\").")
            }
            let name = "--" + key.replacingOccurrences(of: "_", with: "-")
            let produced: [String]
            switch object[key] {
            case is NSNull:
                produced = []
            case let number as NSNumber where String(cString: number.objCType) == "c":  // JSON true or false
                produced = number.boolValue ? [name] : name.hasPrefix("--no-") ? [] : ["--no-" + name.dropFirst(2)]
            case let number as NSNumber:
                produced = [name, number.stringValue]
            case let string as String:
                produced = [name, string]
            case let list as [Any]:  // "digits": [0, 1] is --digits 0,1
                produced = [name, list.map { "\($0)" }.joined(separator: ",")]
            default:
                throw Failure(message: "--config: \(path): \"\(key)\" must be a number, a string, true or false.")
            }
            flags += produced
            if let flag = produced.first { origins.append((flag, key)) }
        }
        let file = ConfigFile(path: path, flagsFromKeys: origins)
        // Subcommand name (if any) first, then the file's flags, then the command line's.
        if let first = rest.first, !first.hasPrefix("-") { return ([first] + flags + rest.dropFirst(), file) }
        return (flags + rest, file)
    }

    /// When the parser's `message` refuses a flag that came from this file, which key of the
    /// file it was, to say so beside the parser's words.
    func hint(for message: String) -> String? {
        guard let origin = flagsFromKeys.first(where: { message.contains("'\($0.flag)'") || message.contains("\($0.flag) ") }) else {
            return nil
        }
        return "(\(origin.flag) came from \"\(origin.key)\" in --config \(path))"
    }
}
