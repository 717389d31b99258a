import Foundation

/// Reads an AIGC field value strictly, as GB 45438 Appendix E gives it, and says what is wrong
/// with it. `AIGCMetadata.parse` is lenient on purpose (labelcast keeps and propagates what an
/// input declares); a platform checking markings must instead tell a well-formed declaration
/// from a malformed one, which the measures treat as a weaker ("suspected") signal.
struct AIGCValueCheck {
    /// The fields as read (nil where absent or not readable).
    let fields: InspectionReport.AIGCFields
    /// Empty when the value is in Appendix E form.
    let problems: [String]

    var wellFormed: Bool { problems.isEmpty }
    /// "1", "2" or "3" when the value is well formed.
    var label: String? { wellFormed ? fields.label : nil }

    init(_ value: String) {
        (fields, problems) = Self.read(value)
    }

    private static func read(_ value: String) -> (InspectionReport.AIGCFields, [String]) {
        var problems: [String] = []
        var fields = InspectionReport.AIGCFields()
        guard let data = value.data(using: .utf8),
              let top = try? JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed]) else {
            problems.append("not JSON")
            return (fields, problems)
        }
        guard let object = top as? [String: Any] else {
            problems.append("not a JSON object")
            return (fields, problems)
        }
        let inner: [String: Any]
        if let aigc = object["AIGC"] as? [String: Any] {
            inner = aigc
            if object.count > 1 { problems.append("other members next to \"AIGC\"") }
        } else if let other = object.first(where: { $0.key.caseInsensitiveCompare("AIGC") == .orderedSame })?.value as? [String: Any] {
            inner = other
            problems.append("the object is not named exactly \"AIGC\"")
        } else {
            problems.append("no \"AIGC\" object")
            return (fields, problems)
        }
        func read(_ key: String) -> String? {
            guard let v = inner[key] else {
                problems.append("\(key) missing")
                return nil
            }
            if let s = v as? String { return s }
            problems.append("\(key) is not a string")
            if let n = v as? NSNumber { return n.stringValue }
            return nil
        }
        fields.label = read("Label")
        fields.contentProducer = read("ContentProducer")
        fields.produceID = read("ProduceID")
        fields.reservedCode1 = read("ReservedCode1")
        fields.contentPropagator = read("ContentPropagator")
        fields.propagateID = read("PropagateID")
        fields.reservedCode2 = read("ReservedCode2")
        if let label = fields.label, !["1", "2", "3"].contains(label) {
            problems.append("Label is \"\(label.prefix(16))\", not 1, 2 or 3")
        }
        if fields.contentProducer?.isEmpty == true { problems.append("ContentProducer is empty") }
        if fields.produceID?.isEmpty == true { problems.append("ProduceID is empty") }
        let unknown = inner.keys.filter { !AIGCMetadata.keys.contains($0) }.sorted()
        if !unknown.isEmpty { problems.append("unknown fields: \(unknown.prefix(4).joined(separator: ", "))") }
        return (fields, problems)
    }
}
