/// What runs the products: the library, its version, its kernel and that kernel's vector
/// instruction set, and who chose the kernel.
public struct GEMMLibrary: Sendable, Equatable {
    public enum Choice: Sendable, Equatable {
        /// dae-dist, from the CPU's features (CPUID).
        case cpuFeatures
        /// The user, with the setting named (such as `OPENBLAS_CORETYPE=Haswell`).
        case user(String)
        /// The library itself.
        case library

        /// As config.json, the metrics header and bench's JSON record it: `cpu_features`,
        /// the user's setting, or `library`.
        public var key: String {
            switch self {
            case .cpuFeatures: return "cpu_features"
            case .user(let setting): return setting
            case .library: return "library"
            }
        }
    }

    public let name: String
    public let version: String?
    public let kernel: String
    public let isa: ISA
    public let chosenBy: Choice

    /// "OpenBLAS 0.3.21, Cooperlake kernel (AVX-512)".
    public var description: String {
        "\(name)\(version.map { " " + $0 } ?? ""), \(kernel) kernel (\(isa.name))"
    }

    public var choiceDescription: String {
        switch chosenBy {
        case .cpuFeatures: return "chosen from the CPU's features"
        case .user(let setting): return "chosen by \(setting)"
        case .library: return "chosen by \(name)"
        }
    }

    /// A warning when the kernel is narrower than what the CPU supports (nil when it is not).
    public var narrowerThanCPUWarning: String? {
        guard isa < CPU.isa else { return nil }
        var advice = "the products could run faster."
        if case .user(let setting) = chosenBy { advice += " Remove \(setting) from the environment to let dae-dist choose." }
        return "warning: the GEMM kernel \(kernel) uses \(isa.name), but this CPU (\(CPU.model)) supports \(CPU.isa.name): " + advice
    }

    /// For config.json and the metrics header.
    public var fields: KeyValuePairs<String, Any?> {
        ["library": name, "version": version, "kernel": kernel, "isa": isa.name, "chosen_by": chosenBy.key]
    }

    public init(name: String, version: String?, kernel: String, isa: ISA, chosenBy: Choice) {
        (self.name, self.version, self.kernel, self.isa, self.chosenBy) = (name, version, kernel, isa, chosenBy)
    }
}
