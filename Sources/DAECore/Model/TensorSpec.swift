/// A named tensor of the model: its PyTorch `state_dict` key, shape and default initialisation.
public struct TensorSpec: Sendable, Equatable {
    public enum Initializer: Sendable, Equatable {
        /// uniform(-bound, bound): PyTorch's default for conv and linear weights
        /// (kaiming-uniform with a = sqrt(5)) and biases, both with bound 1/sqrt(fan_in).
        case uniform(bound: Float)
        case constant(Float)
    }

    public let name: String
    public let shape: [Int]
    public let initializer: Initializer

    public init(name: String, shape: [Int], initializer: Initializer) {
        self.name = name
        self.shape = shape
        self.initializer = initializer
    }

    public var count: Int { shape.reduce(1, *) }
}

/// Named tensors laid out back to back in one buffer: offsets in declaration order.
public struct TensorLayout: Sendable {
    public let specs: [TensorSpec]
    public let offsets: [Int]
    public let totalCount: Int
    private let indexByName: [String: Int]

    public init(_ specs: [TensorSpec]) {
        var offsets: [Int] = []
        var total = 0
        for spec in specs {
            offsets.append(total)
            total += spec.count
        }
        self.specs = specs
        self.offsets = offsets
        self.totalCount = total
        self.indexByName = Dictionary(uniqueKeysWithValues: specs.enumerated().map { ($1.name, $0) })
    }

    public func index(of name: String) -> Int? { indexByName[name] }

    /// Element range of tensor `name` in the buffer.
    public func range(of name: String) -> Range<Int> {
        guard let i = indexByName[name] else { preconditionFailure("no tensor named \(name)") }
        return offsets[i]..<(offsets[i] + specs[i].count)
    }
}
