// libFuzzer target: the GB 45438 Appendix E check `labelcast inspect` applies to every AIGC
// value it finds (container tags, timed ID3, onMetaData, Vorbis comments, RIFF chunks, HLS
// date ranges, emsg), `AIGCValueCheck`, and the layer and report built from it.
//
// The input is the value as text (any bytes; invalid UTF-8 is replaced, as the demuxers' tags
// are). Besides "no crash", checked:
//  - well formed ⇔ no problems; a well-formed value has Label 1, 2 or 3 and a non-empty
//    producer and produce id, and all seven fields;
//  - the lenient parser labelcast uses when propagating (`AIGCMetadata.parse`) accepts every
//    value the strict check calls well formed;
//  - the layer's tier follows the label (1/2/3; malformed → 3) and the whole report encodes
//    as JSON and decodes back to the same report (what `inspect --json` and `serve` send).
import Foundation
@testable import Labelcast

@_cdecl("LLVMFuzzerTestOneInput")
public func labelcastFuzzAIGCValue(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? []
    let value = String(decoding: bytes, as: UTF8.self)
    let check = AIGCValueCheck(value)
    func fail(_ m: String) -> Never { fatalError("fuzz-aigc-value: \(m) for \(value.debugDescription.prefix(300))") }
    if check.wellFormed != check.problems.isEmpty { fail("wellFormed disagrees with problems") }
    if check.wellFormed {
        let f = check.fields
        guard let label = check.label, ["1", "2", "3"].contains(label) else { fail("well formed without Label 1/2/3") }
        if f.contentProducer?.isEmpty != false || f.produceID?.isEmpty != false { fail("well formed without producer") }
        if f.reservedCode1 == nil || f.contentPropagator == nil || f.propagateID == nil || f.reservedCode2 == nil { fail("well formed with a field missing") }
        if AIGCMetadata.parse(value) == nil { fail("AIGCMetadata.parse refuses a well-formed value") }
    } else if check.label != nil {
        fail("a malformed value has a label")
    }
    for p in check.problems where p.isEmpty { fail("empty problem text") }
    let layer = Inspector.aigcLayer(place: "fuzz", key: "AIGC", value: value, timed: false, ranges: [])
    let expected: InspectionReport.Tier = switch check.label {
    case "1": .declared
    case "2": .possibly
    default: .suspected
    }
    if layer.tier != expected { fail("tier \(String(describing: layer.tier)) for label \(String(describing: check.label))") }
    let report = InspectionReport(input: "fuzz", container: "fuzz", duration: 1, windowed: false, layers: [layer], notes: [])
    do {
        let json = try report.json()
        let back = try JSONDecoder().decode(InspectionReport.self, from: Data(json.utf8))
        if back != report { fail("report changes through JSON") }
    } catch {
        fail("report does not go through JSON: \(error)")
    }
    return 0
}
