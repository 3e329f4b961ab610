import Foundation

/// The safetensors format (Hugging Face): an 8-byte little-endian header length, a JSON
/// header mapping each tensor name to its dtype, shape and byte range, then the raw
/// little-endian data. PyTorch reads it with `safetensors.torch.load_file`.
///
/// Reading validates everything before trusting it (header size against the file, byte
/// ranges inside the data, sizes equal to shape x dtype), so a broken or hostile file gives
/// a `SafeTensorsError` naming the file, never a crash or an unbounded allocation.
public struct SafeTensors {
    public enum DType: String, Sendable {
        case float32 = "F32"
        case float64 = "F64"
        case int64 = "I64"
        case int32 = "I32"

        public var byteSize: Int {
            switch self {
            case .float32, .int32: return 4
            case .float64, .int64: return 8
            }
        }
    }

    public struct Entry: Sendable, Equatable {
        public let dtype: DType
        public let shape: [Int]
        /// Byte range in the data section.
        public let byteRange: Range<Int>
        public var count: Int { shape.reduce(1, *) }
    }

    /// Where the bytes came from, for error messages.
    public let source: String
    public let metadata: [String: String]
    public let entries: [String: Entry]
    private let bytes: Data
    private let dataStart: Int

    /// A header larger than this is refused before it is read into memory.
    public static let maxHeaderBytes = 16 << 20

    public static func read(path: String) throws -> SafeTensors {
        do { try InputFile.check(path) } catch {
            throw error.missing ? SafeTensorsError.missing(path: path) : SafeTensorsError.unreadable(path: path, reason: error.reason)
        }
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path), options: .mappedIfSafe) } catch {
            throw SafeTensorsError.unreadable(path: path, reason: error.localizedDescription)
        }
        return try SafeTensors(data: data, source: path)
    }

    public init(data: Data, source: String) throws {
        func corrupt(_ why: String) -> SafeTensorsError { .corrupt(path: source, reason: why) }
        guard data.count >= 8 else { throw corrupt("file is \(data.count) bytes, shorter than the 8-byte header length") }
        let headerLength = data.prefix(8).enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) }
        guard headerLength <= UInt64(min(Self.maxHeaderBytes, data.count - 8)) else {
            throw corrupt("header claims \(headerLength) bytes but the file has \(data.count - 8) after the length field")
        }
        let start = data.startIndex
        let headerData = data.subdata(in: (start + 8)..<(start + 8 + Int(headerLength)))
        guard let header = (try? JSONSerialization.jsonObject(with: headerData)) as? [String: Any] else {
            throw corrupt("header is not a JSON object")
        }
        let dataSize = data.count - 8 - Int(headerLength)
        var entries: [String: Entry] = [:]
        var metadata: [String: String] = [:]
        for (name, value) in header {
            if name == "__metadata__" {
                guard let map = value as? [String: String] else { throw corrupt("__metadata__ is not a map of strings") }
                metadata = map
                continue
            }
            guard let info = value as? [String: Any],
                  let dtypeName = info["dtype"] as? String,
                  let shape = info["shape"] as? [Int],
                  let offsets = info["data_offsets"] as? [Int], offsets.count == 2 else {
                throw corrupt("tensor '\(name)' lacks dtype, shape or data_offsets")
            }
            guard let dtype = DType(rawValue: dtypeName) else { throw corrupt("tensor '\(name)' has unsupported dtype \(dtypeName)") }
            guard shape.allSatisfy({ $0 >= 0 }), offsets[0] >= 0, offsets[0] <= offsets[1], offsets[1] <= dataSize else {
                throw corrupt("tensor '\(name)' has a negative dimension or a byte range outside the \(dataSize)-byte data section")
            }
            var elements = 1
            for dimension in shape {
                let (product, overflow) = elements.multipliedReportingOverflow(by: dimension)
                guard !overflow else { throw corrupt("tensor '\(name)' has an impossible shape \(shape)") }
                elements = product
            }
            guard elements.multipliedReportingOverflow(by: dtype.byteSize) == (offsets[1] - offsets[0], false) else {
                throw corrupt("tensor '\(name)' has shape \(shape) (\(elements) x \(dtype.byteSize) bytes) but \(offsets[1] - offsets[0]) bytes of data")
            }
            entries[name] = Entry(dtype: dtype, shape: shape, byteRange: offsets[0]..<offsets[1])
        }
        self.source = source
        self.metadata = metadata
        self.entries = entries
        self.bytes = data
        self.dataStart = start + 8 + Int(headerLength)
    }

    public func entry(_ name: String) throws -> Entry {
        guard let entry = entries[name] else { throw SafeTensorsError.missingTensor(path: source, name: name) }
        return entry
    }

    /// Copies float32 tensor `name` into `destination`, checking its shape.
    public func copyFloats(_ name: String, shape: [Int], into destination: UnsafeMutablePointer<Float>) throws {
        let entry = try entry(name)
        guard entry.dtype == .float32 else { throw SafeTensorsError.mismatch(path: source, name: name, reason: "dtype \(entry.dtype.rawValue), expected F32") }
        guard entry.shape == shape else { throw SafeTensorsError.mismatch(path: source, name: name, reason: "shape \(entry.shape), expected \(shape)") }
        copyBytes(entry, into: UnsafeMutableRawPointer(destination))
    }

    public func floats(_ name: String) throws -> [Float] {
        let entry = try entry(name)
        guard entry.dtype == .float32 else { throw SafeTensorsError.mismatch(path: source, name: name, reason: "dtype \(entry.dtype.rawValue), expected F32") }
        var values = [Float](repeating: 0, count: entry.count)
        values.withUnsafeMutableBytes { if let start = $0.baseAddress { copyBytes(entry, into: start) } }  // none for a 0-element tensor
        return values
    }

    public func int64s(_ name: String) throws -> [Int64] {
        let entry = try entry(name)
        guard entry.dtype == .int64 else { throw SafeTensorsError.mismatch(path: source, name: name, reason: "dtype \(entry.dtype.rawValue), expected I64") }
        var values = [Int64](repeating: 0, count: entry.count)
        values.withUnsafeMutableBytes { if let start = $0.baseAddress { copyBytes(entry, into: start) } }
        return values.map { Int64(littleEndian: $0) }
    }

    private func copyBytes(_ entry: Entry, into destination: UnsafeMutableRawPointer) {
        guard !entry.byteRange.isEmpty else { return }
        let lower = dataStart + entry.byteRange.lowerBound
        bytes.copyBytes(to: destination.assumingMemoryBound(to: UInt8.self), from: lower..<(lower + entry.byteRange.count))
    }

    /// A tensor to write: its raw little-endian bytes with dtype and shape.
    public struct Tensor {
        public let name: String
        public let dtype: DType
        public let shape: [Int]
        public let data: Data

        public init(name: String, floats: UnsafeBufferPointer<Float>, shape: [Int]) {
            precondition(floats.count == shape.reduce(1, *), "tensor \(name): \(floats.count) values for shape \(shape)")
            self.name = name
            self.dtype = .float32
            self.shape = shape
            self.data = Data(buffer: floats)
        }

        public init(name: String, int64s: [Int64], shape: [Int]) {
            precondition(int64s.count == shape.reduce(1, *), "tensor \(name): \(int64s.count) values for shape \(shape)")
            self.name = name
            self.dtype = .int64
            self.shape = shape
            self.data = int64s.map { $0.littleEndian }.withUnsafeBufferPointer { Data(buffer: $0) }
        }
    }

    /// The bytes of a safetensors file holding `tensors` in the given order, with `metadata`.
    public static func encode(_ tensors: [Tensor], metadata: [String: String] = [:]) -> Data {
        let quoted = JSONString.quote
        var fields: [String] = []
        if !metadata.isEmpty {
            let pairs = metadata.sorted { $0.key < $1.key }.map { "\(quoted($0.key)):\(quoted($0.value))" }
            fields.append("\"__metadata__\":{\(pairs.joined(separator: ","))}")
        }
        var offset = 0
        for tensor in tensors {
            let shape = tensor.shape.map(String.init).joined(separator: ",")
            fields.append("\(quoted(tensor.name)):{\"dtype\":\"\(tensor.dtype.rawValue)\",\"shape\":[\(shape)],\"data_offsets\":[\(offset),\(offset + tensor.data.count)]}")
            offset += tensor.data.count
        }
        var header = Data("{\(fields.joined(separator: ","))}".utf8)
        while header.count % 8 != 0 { header.append(0x20) }  // pad with spaces so the data is 8-byte aligned
        var out = Data(capacity: 8 + header.count + offset)
        withUnsafeBytes(of: UInt64(header.count).littleEndian) { out.append(contentsOf: $0) }
        out.append(header)
        for tensor in tensors { out.append(tensor.data) }
        return out
    }
}

public enum SafeTensorsError: Error, CustomStringConvertible, Equatable {
    case missing(path: String)
    case unreadable(path: String, reason: String)
    case corrupt(path: String, reason: String)
    case missingTensor(path: String, name: String)
    case mismatch(path: String, name: String, reason: String)

    public var description: String {
        switch self {
        case .missing(let path):
            return "\(path): no such file. Check the path."
        case .unreadable(let path, let reason):
            return "\(path): cannot be read (\(reason))."
        case .corrupt(let path, let reason):
            return "\(path): not a valid safetensors file: \(reason). The file is damaged or is not a dae-dist checkpoint."
        case .missingTensor(let path, let name):
            return "\(path): has no tensor '\(name)'. It was written for a different model."
        case .mismatch(let path, let name, let reason):
            return "\(path): tensor '\(name)' has \(reason). It was written for a different model configuration (latent size?)."
        }
    }
}
