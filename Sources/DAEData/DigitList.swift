/// A set of digit labels as written on a command line and in metadata: `0,1,2` (sorted, no
/// repeats). `all` and nil mean every digit.
public enum DigitList {
    /// The digits of `text`, or nil when it is not a comma-separated list of digits 0-9.
    public static func parse(_ text: String) -> [Int]? {
        let parts = text.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
        var digits: Set<Int> = []
        for part in parts {
            guard let digit = Int(part), (0...9).contains(digit) else { return nil }
            digits.insert(digit)
        }
        return digits.sorted()
    }

    public static func text(_ digits: [Int]) -> String { digits.map(String.init).joined(separator: ",") }
}
