import Foundation

/// `events.out.tfevents.<time>.<host>.<pid>`: the run's scalars and sample grids in
/// TensorBoard's event-file format, beside `metrics.jsonl`, so `tensorboard --logdir runs`
/// (and the trackers that import TensorBoard files) show the curves. Rank 0 only; written and
/// flushed record by record like the JSONL, a new file for each start of a run (TensorBoard
/// reads every event file of a folder).
///
/// The format: TFRecords (a little-endian 64-bit length, its masked CRC-32C, the bytes, their
/// masked CRC-32C), each an `Event` protocol buffer (tensorflow/core/util/event.proto):
/// wall_time = 1 (double), step = 2 (int64), file_version = 3 (string), summary = 5, whose
/// `Summary.Value`s (summary.proto) hold tag = 1, simple_value = 2 (float) or image = 4
/// (height = 1, width = 2, colorspace = 3, encoded_image_string = 4: a PNG).
public final class TensorBoardLog {
    public let path: String
    private let handle: FileHandle

    public init(directory: String) throws {
        let host = ProcessInfo.processInfo.hostName.split(separator: ".").first.map(String.init) ?? "localhost"
        let name = "events.out.tfevents.\(Int(Date().timeIntervalSince1970)).\(host).\(getpid())"
        path = (directory as NSString).appendingPathComponent(name)
        guard FileManager.default.createFile(atPath: path, contents: nil), let handle = FileHandle(forWritingAtPath: path) else {
            throw TrainingError.cannotWrite(path: path, reason: "cannot create it")
        }
        self.handle = handle
        var event = Protobuf()
        event.double(1, Date().timeIntervalSince1970)
        event.bytes(3, Data("brain.Event:2".utf8))
        try write(event.data)
    }

    deinit { try? handle.close() }

    /// Scalars at global step `step`, as tag and value.
    public func scalars(_ values: [(String, Double)], step: Int) throws {
        var summary = Protobuf()
        for (tag, value) in values where value.isFinite {
            var entry = Protobuf()
            entry.bytes(1, Data(tag.utf8))
            entry.float(2, Float(value))
            summary.bytes(1, entry.data)
        }
        try event(summary: summary, step: step)
    }

    /// A PNG picture (its size read from its header) at global step `step`.
    public func image(_ tag: String, png: Data, step: Int) throws {
        // The IHDR chunk: width at byte 16, height at 20 (big-endian), colour type at 25.
        let bytes = [UInt8](png.prefix(26))
        guard bytes.count == 26 else { return }
        func bigEndian(_ at: Int) -> UInt64 { bytes[at..<(at + 4)].reduce(0) { $0 << 8 | UInt64($1) } }
        let channels: UInt64 = [0: 1, 2: 3, 4: 2, 6: 4][bytes[25]] ?? 3
        var image = Protobuf()
        image.varint(1, bigEndian(20))
        image.varint(2, bigEndian(16))
        image.varint(3, channels)
        image.bytes(4, png)
        var entry = Protobuf()
        entry.bytes(1, Data(tag.utf8))
        entry.bytes(4, image.data)
        var summary = Protobuf()
        summary.bytes(1, entry.data)
        try event(summary: summary, step: step)
    }

    private func event(summary: Protobuf, step: Int) throws {
        var event = Protobuf()
        event.double(1, Date().timeIntervalSince1970)
        event.varint(2, UInt64(max(0, step)))
        event.bytes(5, summary.data)
        try write(event.data)
    }

    /// One TFRecord, in one write.
    private func write(_ record: Data) throws {
        var length = UInt64(record.count).littleEndian
        let lengthBytes = withUnsafeBytes(of: &length) { Data($0) }
        var framed = lengthBytes
        framed.append(Self.maskedCRC(lengthBytes))
        framed.append(record)
        framed.append(Self.maskedCRC(record))
        do { try handle.write(contentsOf: framed) } catch {
            throw TrainingError.cannotWrite(path: path, reason: "cannot append to it (\(MetricsLog.reason(error)))")
        }
    }

    /// TFRecord's masked CRC-32C (Castagnoli), little-endian.
    static func maskedCRC(_ data: Data) -> Data {
        let crc = CRC32C.checksum(data)
        var masked = (((crc >> 15) | (crc << 17)) &+ 0xa282_ead8).littleEndian
        return withUnsafeBytes(of: &masked) { Data($0) }
    }
}

/// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), table-driven.
enum CRC32C {
    private static let table: [UInt32] = (0..<256).map { index -> UInt32 in
        var crc = UInt32(index)
        for _ in 0..<8 { crc = crc & 1 != 0 ? (crc >> 1) ^ 0x82F6_3B78 : crc >> 1 }
        return crc
    }

    static func checksum(_ data: Data) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in data { crc = table[Int((crc ^ UInt32(byte)) & 0xFF)] ^ (crc >> 8) }
        return crc ^ 0xFFFF_FFFF
    }
}

/// The few protocol-buffer encodings an `Event` needs: varints, doubles, floats, bytes.
struct Protobuf {
    private(set) var data = Data()

    private mutating func raw(_ value: UInt64) {
        var value = value
        while value >= 0x80 {
            data.append(UInt8(value & 0x7F) | 0x80)
            value >>= 7
        }
        data.append(UInt8(value))
    }

    mutating func varint(_ field: UInt64, _ value: UInt64) {
        raw(field << 3 | 0)
        raw(value)
    }

    mutating func double(_ field: UInt64, _ value: Double) {
        raw(field << 3 | 1)
        var bits = value.bitPattern.littleEndian
        withUnsafeBytes(of: &bits) { data.append(contentsOf: $0) }
    }

    mutating func float(_ field: UInt64, _ value: Float) {
        raw(field << 3 | 5)
        var bits = value.bitPattern.littleEndian
        withUnsafeBytes(of: &bits) { data.append(contentsOf: $0) }
    }

    mutating func bytes(_ field: UInt64, _ value: Data) {
        raw(field << 3 | 2)
        raw(UInt64(value.count))
        data.append(value)
    }
}
