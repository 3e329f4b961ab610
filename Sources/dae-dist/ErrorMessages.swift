import DAEData

/// An error whose message is meant for the user as is; exits with status 1.
struct ValidationFailure: Error, CustomStringConvertible {
    let message: String
    var description: String { message }

    init(message: String) { self.message = message }

    /// A library's error, in the command line's terms (see `userMessage`).
    init(_ error: Error) { message = userMessage(error) }
}

/// What to tell the user about `error`: the libraries' own words, with the data library's
/// settings named by the flags that set them.
func userMessage(_ error: Error) -> String {
    if case .invalidSetting(let setting, let reason)? = error as? DataError { return "\(setting.flag): \(reason)" }
    return "\(error)"
}

extension DataSetting {
    /// The flag that sets this.
    var flag: String {
        switch self {
        case .validationSize: return "--val-size"
        case .limitTrain: return "--limit-train"
        case .shards: return "--shards"
        case .globalBatch: return "--batch-size"
        case .dataDir: return "--data-dir"
        case .files: return "dae-dist download"
        case .mirror: return "--mirror"
        case .digits: return "--digits"
        }
    }
}
