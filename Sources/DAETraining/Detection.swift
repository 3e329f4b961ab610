/// How well a score separates anomalies from normal cases: the numbers `dae-dist anomaly`
/// reports, computed exactly (ties handled), not read off a sampled curve.
public enum Detection {
    /// The area under the ROC curve of "anomalous when `score` is high": the probability that
    /// an anomalous case scores above a normal one, ties counting one half (the Mann-Whitney
    /// statistic, from average ranks). Nil without both kinds of case.
    public static func rocAUC(scores: [Double], anomalous: [Bool]) -> Double? {
        precondition(scores.count == anomalous.count, "a label per score")
        let positives = anomalous.filter { $0 }.count, negatives = anomalous.count - positives
        guard positives > 0, negatives > 0 else { return nil }
        let (order, runs) = tiedRuns(scores, descending: false)
        var rankSum = 0.0
        for run in runs {
            let averageRank = Double(run.lowerBound + run.upperBound) / 2 + 1  // ranks from 1; tied scores share their mean rank
            for k in run where anomalous[order[k]] { rankSum += averageRank }
        }
        let p = Double(positives), n = Double(negatives)
        return (rankSum - p * (p + 1) / 2) / (p * n)
    }

    /// Average precision of "anomalous when `score` is high": the precision at each distinct
    /// threshold weighted by the recall it adds, tied scores taken together (as scikit-learn's
    /// `average_precision_score`). Nil without anomalous cases.
    public static func averagePrecision(scores: [Double], anomalous: [Bool]) -> Double? {
        precondition(scores.count == anomalous.count, "a label per score")
        let positives = anomalous.filter { $0 }.count
        guard positives > 0 else { return nil }
        let (order, runs) = tiedRuns(scores, descending: true)
        var truePositives = 0, previousRecall = 0.0, sum = 0.0
        for run in runs {
            for k in run where anomalous[order[k]] { truePositives += 1 }
            let recall = Double(truePositives) / Double(positives), precision = Double(truePositives) / Double(run.upperBound + 1)
            sum += (recall - previousRecall) * precision
            previousRecall = recall
        }
        return sum
    }

    /// The indices of `scores` sorted, and the runs of equal scores as ranges of that order.
    private static func tiedRuns(_ scores: [Double], descending: Bool) -> (order: [Int], runs: [ClosedRange<Int>]) {
        let order = scores.indices.sorted { descending ? scores[$0] > scores[$1] : scores[$0] < scores[$1] }
        var runs: [ClosedRange<Int>] = []
        var start = 0
        while start < order.count {
            var end = start
            while end + 1 < order.count && scores[order[end + 1]] == scores[order[start]] { end += 1 }
            runs.append(start...end)
            start = end + 1
        }
        return (order, runs)
    }

    /// Precision and recall of "anomalous when `score` > `threshold`" (precision nil when
    /// nothing is flagged, recall nil without anomalous cases).
    public static func precisionRecall(scores: [Double], anomalous: [Bool], threshold: Double) -> (precision: Double?, recall: Double?) {
        var flagged = 0, hits = 0
        for (score, isAnomalous) in zip(scores, anomalous) where score > threshold {
            flagged += 1
            if isAnomalous { hits += 1 }
        }
        let positives = anomalous.filter { $0 }.count
        return (flagged > 0 ? Double(hits) / Double(flagged) : nil, positives > 0 ? Double(hits) / Double(positives) : nil)
    }

    /// The `p`-th percentile (0...100) of `values`, interpolating linearly between the two
    /// nearest ranks (numpy's default).
    public static func percentile(_ values: [Double], _ p: Double) -> Double {
        precondition(!values.isEmpty, "a percentile of no values")
        let sorted = values.sorted()
        let position = p / 100 * Double(sorted.count - 1)
        let low = Int(position.rounded(.down)), high = min(low + 1, sorted.count - 1)
        return sorted[low] + (sorted[high] - sorted[low]) * (position - Double(low))
    }
}
