// libFuzzer target: the C2PA manifest store JSON as `labelcast inspect` reads it
// (`C2PAInspection.layer(fromStoreJSON:)`): the JSON comes from the reference library, but
// what is in it — assertions, actions, digitalSourceType, ingredients, labelcast's ranges — is
// whatever the (possibly hostile) signer of the manifest wrote.
//
// Checked: no crash; the tier follows the documented rule (declared only for a valid or
// trusted manifest naming an AI source type, possibly only for such a declaration failing
// validation, none otherwise); ranges are finite; and the report encodes as JSON and decodes
// back unchanged (`serve` would otherwise answer `{}`).
import Foundation
@testable import Labelcast

@_cdecl("LLVMFuzzerTestOneInput")
public func labelcastFuzzC2PAReport(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? []
    let json = String(decoding: bytes, as: UTF8.self)
    for trusted in [false, true] {
        let layer = C2PAInspection.layer(fromStoreJSON: json, mode: "embedded", sidecar: nil, place: "fuzz", trusted: trusted, library: "fuzz")
        func fail(_ m: String) -> Never { fatalError("fuzz-c2pa-report: \(m) for \(json.debugDescription.prefix(300))") }
        guard let c = layer.c2pa else { fail("no C2PA findings") }
        if !["trusted", "valid", "invalid"].contains(c.validation) { fail("validation \(c.validation)") }
        let ai = c.actions.contains { a in a.digitalSourceType.map { t in C2PAInspection.aiSourceTypes.contains { t.hasSuffix("/" + $0) || t == $0 } } ?? false }
        switch layer.tier {
        case .declared?: if c.validation == "invalid" || !ai { fail("declared without a valid AI declaration") }
        case .possibly?: if c.validation != "invalid" || !ai { fail("possibly without a failing AI declaration") }
        case nil: if ai && c.validation != "invalid" { fail("valid AI declaration without a tier") }
        case .suspected?: fail("suspected from a readable store")
        }
        for r in layer.ranges where !r.start.isFinite || !r.end.isFinite { fail("range not finite: \(r)") }
        let report = InspectionReport(input: "fuzz", container: "fuzz", duration: 1, windowed: false, layers: [layer], notes: [])
        do {
            let text = try report.json()
            let back = try JSONDecoder().decode(InspectionReport.self, from: Data(text.utf8))
            if back != report { fail("report changes through JSON") }
        } catch {
            fail("report does not go through JSON: \(error)")
        }
    }
    return 0
}
