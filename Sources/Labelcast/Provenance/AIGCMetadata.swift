import Foundation

/// A provenance field value that cannot be written: names the field and the bad character.
public struct ProvenanceError: Error, CustomStringConvertible, Equatable, Sendable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// The GB 45438-2025 Appendix E implicit label: one metadata field whose name contains `AIGC`,
/// its value the JSON text
/// `{"AIGC":{"Label":"1","ContentProducer":…,"ProduceID":…,"ReservedCode1":…,"ContentPropagator":…,"PropagateID":…,"ReservedCode2":…}}`.
///
/// `jsonValue` writes exactly that: this key order, every value a string, no whitespace, so two
/// writers of the same fields produce the same bytes and a checker can compare them.
public struct AIGCMetadata: Sendable, Equatable {
    /// "1" generated, "2" possibly generated, "3" suspected (GB 45438).
    public var label: String
    public var contentProducer: String
    public var produceID: String
    public var reservedCode1: String
    public var contentPropagator: String
    public var propagateID: String
    public var reservedCode2: String

    /// The container tag name labelcast writes.
    public static let tagName = "AIGC"
    /// The seven keys in the order Appendix E lists them.
    public static let keys = ["Label", "ContentProducer", "ProduceID", "ReservedCode1",
                              "ContentPropagator", "PropagateID", "ReservedCode2"]
    /// Longest value labelcast accepts for a field it sets itself.
    public static let maximumLength = 128

    public init(label: String = "1", contentProducer: String, produceID: String, reservedCode1: String = "",
                contentPropagator: String? = nil, propagateID: String? = nil, reservedCode2: String = "") {
        self.label = label
        self.contentProducer = contentProducer
        self.produceID = produceID
        self.reservedCode1 = reservedCode1
        // On first labeling the propagator is the producer (GB 45438 Appendix E).
        self.contentPropagator = contentPropagator ?? contentProducer
        self.propagateID = propagateID ?? produceID
        self.reservedCode2 = reservedCode2
    }

    public var values: [String] {
        [label, contentProducer, produceID, reservedCode1, contentPropagator, propagateID, reservedCode2]
    }

    /// The field value, byte-exact Appendix E form.
    public var jsonValue: String {
        let body = zip(Self.keys, values).map { "\"\($0)\":\(Self.quote($1))" }.joined(separator: ",")
        return "{\"AIGC\":{\(body)}}"
    }

    /// This marking passed on by another service: the producer's fields stay as they were;
    /// the propagator fields name the one passing it on (Appendix E), whose reserved code
    /// replaces the previous propagator's.
    public func propagated(by propagator: String, id: String, reservedCode2: String = "", label: String? = nil) -> AIGCMetadata {
        var m = self
        m.contentPropagator = propagator
        m.propagateID = id
        m.reservedCode2 = reservedCode2
        if let label { m.label = label }
        return m
    }

    /// Reads a value in Appendix E form (`{"AIGC":{…}}`, or the inner object alone). Missing
    /// fields read as ""; numbers are taken as their text. nil when it is not such JSON.
    public static func parse(_ text: String) -> AIGCMetadata? {
        guard let data = text.data(using: .utf8),
              let top = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else { return nil }
        let inner = (top.first { $0.key.caseInsensitiveCompare("AIGC") == .orderedSame }?.value as? [String: Any]) ?? top
        func field(_ key: String) -> String? {
            guard let v = inner.first(where: { $0.key.caseInsensitiveCompare(key) == .orderedSame })?.value else { return nil }
            if let s = v as? String { return s }
            if let n = v as? NSNumber { return n.stringValue }
            return nil
        }
        guard let label = field("Label") else { return nil }
        return AIGCMetadata(label: label, contentProducer: field("ContentProducer") ?? "", produceID: field("ProduceID") ?? "",
                            reservedCode1: field("ReservedCode1") ?? "", contentPropagator: field("ContentPropagator") ?? "",
                            propagateID: field("PropagateID") ?? "", reservedCode2: field("ReservedCode2") ?? "")
    }

    /// The first tag whose name contains "AIGC" in any case (GB 45438: the field name
    /// contains AIGC), as (name, value).
    public static func find(in tags: [String: String]) -> (key: String, value: String)? {
        tags.keys.sorted().first { $0.range(of: "aigc", options: .caseInsensitive) != nil }.map { ($0, tags[$0]!) }
    }

    /// Checks a value labelcast is asked to write itself. The standard gives names and ids
    /// as plain codes; labelcast allows ASCII letters, digits and `- _ . : / @`, at most
    /// `maximumLength` characters, so the value needs no escaping anywhere it goes (ID3,
    /// Matroska, MP4 and FLV tags, shell scripts that grep for it).
    public static func validate(_ value: String, field: String, allowEmpty: Bool = false) throws {
        if value.isEmpty {
            if allowEmpty { return }
            throw ProvenanceError("\(field) is empty: give a name or id of letters, digits and - _ . : / @")
        }
        for scalar in value.unicodeScalars {
            let ok = scalar.isASCII && (("a"..."z").contains(scalar) || ("A"..."Z").contains(scalar)
                                        || ("0"..."9").contains(scalar) || "-_.:/@".unicodeScalars.contains(scalar))
            if !ok {
                let shown = scalar.value < 0x20 || scalar.value == 0x7F ? "" : "'\(Character(scalar))' "
                throw ProvenanceError("\(field) contains the character \(shown)(U+\(String(format: "%04X", scalar.value))), which GB 45438 metadata does not take here: use letters, digits and - _ . : / @")
            }
        }
        if value.count > maximumLength {
            throw ProvenanceError("\(field) is \(value.count) characters long: at most \(maximumLength)")
        }
    }

    /// A JSON string literal: quotes, backslashes and control characters escaped, everything
    /// else as UTF-8 (no `\/`, unlike JSONSerialization, so the bytes stay as given).
    static func quote(_ s: String) -> String {
        var out = "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if scalar.value < 0x20 { out += String(format: "\\u%04x", scalar.value) } else { out.unicodeScalars.append(scalar) }
            }
        }
        return out + "\""
    }
}
