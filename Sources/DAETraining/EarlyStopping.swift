/// Early stopping as the reference PyTorch trainer does it: a validation loss below
/// `best - delta` is an improvement (save the best model); otherwise a counter grows, and
/// training stops when it reaches `patience`.
public struct EarlyStopping: Sendable, Equatable {
    public let patience: Int
    public let delta: Double
    public private(set) var best: Double?
    public private(set) var counter = 0

    public init(patience: Int, delta: Double, best: Double? = nil, counter: Int = 0) {
        self.patience = patience
        self.delta = delta
        self.best = best
        self.counter = counter
    }

    public enum Verdict: Sendable, Equatable {
        case improved(previous: Double?, now: Double)
        case noImprovement(counter: Int, patience: Int)
        case stop(counter: Int, patience: Int)
    }

    public mutating func update(validationLoss: Double) -> Verdict {
        if let best, !(validationLoss < best - delta) {
            counter += 1
            return counter >= patience ? .stop(counter: counter, patience: patience) : .noImprovement(counter: counter, patience: patience)
        }
        let previous = best
        best = validationLoss
        counter = 0
        return .improved(previous: previous, now: validationLoss)
    }

    public static func message(_ verdict: Verdict) -> String {
        switch verdict {
        case .improved(let previous, let now):
            let before = previous.map { String(format: "%.5f", $0) } ?? "inf"
            return "V_loss decreased (\(before) --> \(String(format: "%.5f", now))). Saving model ..."
        case .noImprovement(let counter, let patience), .stop(let counter, let patience):
            return "Early stopping counter: \(counter) out of \(patience)"
        }
    }
}
