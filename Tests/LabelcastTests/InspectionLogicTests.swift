import Foundation
@testable import Labelcast
import Testing

/// The inspector's pure logic on values: the strict Appendix E check, the tier of a C2PA
/// store as c2pa-rs reports it, timed-ID3 ranges, the verdict; and hostile input to the
/// parsers (random bytes, huge and deep JSON) that must give an answer, not a crash.
@Suite struct InspectionLogicTests {
    @Test func appendixEValuesAreCheckedStrictly() {
        let good = AIGCMetadata(contentProducer: "p", produceID: "id").jsonValue
        #expect(AIGCValueCheck(good).wellFormed && AIGCValueCheck(good).label == "1")
        #expect(AIGCValueCheck(#"{"aigc":{"Label":"1"}}"#).problems.contains("the object is not named exactly \"AIGC\""))
        #expect(AIGCValueCheck(#"{"AIGC":{"Label":"4","ContentProducer":"p","ProduceID":"i","ReservedCode1":"","ContentPropagator":"p","PropagateID":"i","ReservedCode2":""}}"#)
            .problems == ["Label is \"4\", not 1, 2 or 3"])
        #expect(AIGCValueCheck("[1,2]").problems == ["not a JSON object"])
        #expect(AIGCValueCheck("").problems == ["not JSON"])
        let missing = AIGCValueCheck(#"{"AIGC":{"Label":"1"}}"#)
        #expect(!missing.wellFormed && missing.label == nil && missing.problems.contains("ProduceID missing"), "\(missing.problems)")
    }

    static func store(state: String, failures: [String], sourceType: String?) -> String {
        var action: [String: Any] = ["action": "c2pa.created"]
        if let sourceType { action["digitalSourceType"] = sourceType }
        let store: [String: Any] = [
            "active_manifest": "urn:m",
            "manifests": ["urn:m": ["assertions": [["label": "c2pa.actions.v2", "data": ["actions": [action]]]],
                                    "signature_info": ["common_name": "signer", "issuer": "root", "alg": "Es256"]]],
            "validation_results": ["activeManifest": ["failure": failures.map { ["code": $0] }, "success": []]],
            "validation_state": state,
        ]
        return String(decoding: try! JSONSerialization.data(withJSONObject: store), as: UTF8.self)
    }

    @Test func c2paTiersFollowValidationAndSourceType() {
        let ai = "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"
        func layer(_ state: String, _ failures: [String], _ type: String?) -> InspectionReport.Layer {
            C2PAInspection.layer(fromStoreJSON: Self.store(state: state, failures: failures, sourceType: type), mode: "embedded", sidecar: nil,
                                 place: "C2PA manifest (embedded)", trusted: false, library: nil)
        }
        #expect(layer("Valid", [], ai).tier == .declared)
        // An untrusted signer is a policy matter, not tampering: still a declaration.
        let untrusted = layer("Invalid", ["signingCredential.untrusted"], ai)
        #expect(untrusted.tier == .declared && untrusted.c2pa?.validation == "valid")
        let tampered = layer("Invalid", ["assertion.bmffHash.mismatch"], ai)
        #expect(tampered.tier == .possibly && tampered.c2pa?.validation == "invalid")
        #expect(layer("Valid", [], "http://cv.iptc.org/newscodes/digitalsourcetype/digitalCapture").tier == nil)
        #expect(layer("Valid", [], nil).tier == nil)
        #expect(layer("Valid", [], ai).c2pa?.signer?.commonName == "signer")
    }

    @Test func timedID3TagsMakeRangesThatEndOneIntervalAfterTheLast() {
        let r = Inspector.ranges(times: [1, 3, 5, 20, 22], placeIsUpdate: false, duration: 30)
        #expect(r.map(\.start) == [1, 20] && r.map(\.end) == [7, 24], "\(r)")
        // Never past the end of the media.
        #expect(Inspector.ranges(times: [1, 3], placeIsUpdate: false, duration: 4).map(\.end) == [4])
        // An onMetaData update holds to the end.
        #expect(Inspector.ranges(times: [2.5], placeIsUpdate: true, duration: 9).map(\.end) == [9])
    }

    @Test func theVerdictIsTheStrongestLayer() {
        let w = InspectionReport.Layer(kind: .audioWatermark, place: "a", tier: .possibly, summary: "", timed: true)
        let m = InspectionReport.Layer(kind: .aigcMetadata, place: "m", tier: .suspected, summary: "", timed: false)
        let c = InspectionReport.Layer(kind: .c2pa, place: "c", tier: nil, summary: "", timed: false)
        let report = InspectionReport(input: "x", container: nil, duration: 1, windowed: false, layers: [m, w, c], notes: [])
        #expect(report.verdict.tier == .possibly && report.verdict.reasons.count == 2 && report.found)
        let none = InspectionReport(input: "x", container: nil, duration: 1, windowed: false, layers: [c], notes: [])
        #expect(none.verdict.tier == nil && !none.found && none.verdict.meaning == "none found")
        #expect((try? none.json())?.contains(#""tier":null"#) == true)
    }

    /// Hostile values: each parser answers (or says why not) without trapping.
    @Test func hostileInputGivesAnAnswerNotACrash() {
        var rng = SystemRandomNumberGenerator()
        for n in 0..<2000 {
            let bytes = (0..<Int.random(in: 0...300, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
            _ = AIGCValueCheck(String(decoding: bytes, as: UTF8.self))
            _ = TimedID3.textValue(in: (n % 2 == 0 ? Array("ID3".utf8) + [4, 0, 0] : []) + bytes, description: "AIGC")
            _ = C2PAInspection.layer(fromStoreJSON: String(decoding: bytes, as: UTF8.self), mode: "embedded", sidecar: nil, place: "p", trusted: false, library: nil)
        }
        let deep = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
        #expect(!AIGCValueCheck(deep).wellFormed)
        let huge = #"{"AIGC":{"Label":"1","ContentProducer":""# + String(repeating: "x", count: 1 << 20) + #""}}"#
        #expect(AIGCValueCheck(huge).problems.contains("ProduceID missing"))
        let odd = C2PAInspection.layer(fromStoreJSON: #"{"manifests":{"a":1},"active_manifest":7}"#, mode: "sidecar", sidecar: "x.c2pa", place: "p", trusted: false, library: nil)
        #expect(odd.c2pa?.validation == "invalid" && odd.tier == nil)
    }
}
