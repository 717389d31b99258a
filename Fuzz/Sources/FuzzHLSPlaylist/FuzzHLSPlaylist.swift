// libFuzzer target: HLS playlists as `labelcast inspect` reads them (`HLSPlaylist.parse`,
// its attribute lists, dates and hex, URI resolution) and the AIGC date-range layers built
// from them (`HLSInspection.dateRangeLayers`): a playlist comes from whoever serves it.
//
// Checked: no crash or hang; counts within the bounds; segment durations finite and not
// negative; every URI resolves against both a URL and a path base; date-range layers have
// finite ranges with start ≤ end, a tier, and the report goes through JSON unchanged.
import Foundation
@testable import Labelcast

@_cdecl("LLVMFuzzerTestOneInput")
public func labelcastFuzzHLSPlaylist(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? []
    let text = String(decoding: bytes, as: UTF8.self)
    func fail(_ m: String) -> Never { fatalError("fuzz-hls-playlist: \(m) for \(text.debugDescription.prefix(400))") }
    // The attribute-list and hex readers on the raw text too (they see one tag's value).
    _ = HLSPlaylist.attributes(text)
    _ = HLSPlaylist.hexBytes(text)
    _ = HLSPlaylist.parseDate(text)
    guard let p = try? HLSPlaylist.parse(text) else { return 0 }
    if p.segments.count > HLSPlaylist.maxEntries || p.dateRanges.count > HLSPlaylist.maxEntries || p.variants.count > HLSPlaylist.maxEntries {
        fail("more entries than the bound")
    }
    for s in p.segments where !s.duration.isFinite || s.duration < 0 { fail("segment duration \(s.duration)") }
    for uri in (p.segments.map(\.uri) + p.variants.map(\.uri) + [p.initURI].compactMap { $0 }).prefix(64) {
        _ = HLSPlaylist.resolve(uri, against: "http://127.0.0.1:8080/live/index.m3u8")
        _ = HLSPlaylist.resolve(uri, against: "/tmp/x/index.m3u8")
    }
    let total = p.segments.reduce(0) { $0 + $1.duration }
    let layers = HLSInspection.dateRangeLayers(p, duration: total.isFinite ? total : 0)
    for layer in layers {
        if layer.tier == nil { fail("date-range layer without a tier") }
        for r in layer.ranges where !r.start.isFinite || !r.end.isFinite || r.start > r.end || r.start < 0 { fail("range \(r)") }
    }
    let report = InspectionReport(input: "fuzz", container: "mpegts", duration: total.isFinite ? min(total, 1e9) : 0, windowed: false, layers: layers, notes: [])
    do {
        let json = try report.json()
        let back = try JSONDecoder().decode(InspectionReport.self, from: Data(json.utf8))
        if back != report { fail("report changes through JSON") }
    } catch {
        fail("report does not go through JSON: \(error)")
    }
    return 0
}
