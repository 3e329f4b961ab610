#if canImport(Glibc)
import Glibc
#endif

/// A fixed-size, zero-initialised, 64-byte-aligned block of numbers.
///
/// Parameters, gradients, activations and workspaces are `FloatBuffer`s, reduction
/// accumulators `DoubleBuffer`s, all allocated once, so the training step works through raw pointers with no allocation and no
/// copy-on-write checks. Reference semantics are deliberate: a buffer has one owner
/// (the model, the optimizer) and others borrow views into it.
public final class AlignedBuffer<Element: Numeric>: @unchecked Sendable {
    public let count: Int
    public let pointer: UnsafeMutablePointer<Element>

    public init(count: Int) {
        precondition(count >= 0, "AlignedBuffer count must be non-negative")
        self.count = count
        let byteCount = max(count, 1) * MemoryLayout<Element>.stride
        let raw: UnsafeMutableRawPointer
        if byteCount >= AlignedBuffer.hugePage {
            raw = AlignedBuffer.allocateHugePages(byteCount: byteCount)
        } else {
            raw = UnsafeMutableRawPointer.allocate(byteCount: byteCount, alignment: 64)
        }
        pointer = raw.bindMemory(to: Element.self, capacity: max(count, 1))
        pointer.initialize(repeating: 0, count: max(count, 1))
    }

    /// Buffers of a huge page (2 MB) or more (activations, gradients, workspaces, streamed
    /// through whole by every step) get transparent huge pages where Linux offers them on
    /// request (THP "madvise" mode): fewer TLB misses in the memory-bound passes, for under
    /// 2 MB of rounding per buffer.
    private static var hugePage: Int { 2 << 20 }

    private static func allocateHugePages(byteCount: Int) -> UnsafeMutableRawPointer {
        let rounded = (byteCount + hugePage - 1) / hugePage * hugePage
        let raw = UnsafeMutableRawPointer.allocate(byteCount: rounded, alignment: hugePage)
        #if os(Linux)
        _ = madvise(raw, rounded, MADV_HUGEPAGE)  // advice only: 4 KB pages if refused
        #endif
        return raw
    }

    public convenience init(_ values: [Element]) {
        self.init(count: values.count)
        values.withUnsafeBufferPointer { if let start = $0.baseAddress { pointer.update(from: start, count: values.count) } }
    }

    deinit { pointer.deallocate() }

    public subscript(index: Int) -> Element {
        get { pointer[index] }
        set { pointer[index] = newValue }
    }

    public var buffer: UnsafeMutableBufferPointer<Element> { UnsafeMutableBufferPointer(start: pointer, count: count) }

    public var array: [Element] { Array(buffer) }

    public func fill(_ value: Element) { pointer.update(repeating: value, count: count) }

    public func copy(from other: AlignedBuffer) {
        precondition(other.count == count, "AlignedBuffer copy: size \(other.count) into \(count)")
        pointer.update(from: other.pointer, count: count)
    }
}

public typealias FloatBuffer = AlignedBuffer<Float>
public typealias DoubleBuffer = AlignedBuffer<Double>

/// A named, shaped window into a `FloatBuffer` (a parameter, its gradient, a running statistic).
public struct TensorView {
    public let name: String
    public let shape: [Int]
    public let pointer: UnsafeMutablePointer<Float>
    /// Offset of the first element in the owning buffer.
    public let offset: Int

    public init(name: String, shape: [Int], pointer: UnsafeMutablePointer<Float>, offset: Int = 0) {
        self.name = name
        self.shape = shape
        self.pointer = pointer
        self.offset = offset
    }

    public var count: Int { shape.reduce(1, *) }
    public var buffer: UnsafeMutableBufferPointer<Float> { UnsafeMutableBufferPointer(start: pointer, count: count) }
    public var array: [Float] { Array(buffer) }
}
