import DAECore
import Foundation

/// A JSON object whose keys are only known at run time, in the order given.
public struct JSONObject {
    public let fields: [(String, Any?)]
    public init(_ fields: [(String, Any?)]) { self.fields = fields }
}

/// Minimal JSON encoding with caller-ordered keys (JSONSerialization sorts or scrambles them).
public enum JSON {
    public static func encode(_ value: Any?) -> String {
        switch value {
        case nil: return "null"
        case let v as Bool: return v ? "true" : "false"
        case let v as Int: return String(v)
        case let v as Int64: return String(v)
        case let v as UInt64: return String(v)
        case let v as Double: return v.isFinite ? String(format: "%.9g", v) : "null"
        case let v as Float: return v.isFinite ? String(format: "%.7g", Double(v)) : "null"
        case let v as String: return JSONString.quote(v)
        case let v as [Any?]: return "[" + v.map(encode).joined(separator: ",") + "]"
        case let v as KeyValuePairs<String, Any?>: return "{" + v.map { "\(JSONString.quote($0.key)):\(encode($0.value))" }.joined(separator: ",") + "}"
        case let v as JSONObject: return "{" + v.fields.map { "\(JSONString.quote($0.0)):\(encode($0.1))" }.joined(separator: ",") + "}"
        case let v as [String: Any?]: return "{" + v.keys.sorted().map { "\(JSONString.quote($0)):\(encode(v[$0]!))" }.joined(separator: ",") + "}"
        default: return JSONString.quote(String(describing: value!))
        }
    }
}
