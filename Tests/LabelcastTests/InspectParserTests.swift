import Foundation
@testable import Labelcast
import MediaIO
import Testing

/// The parsers `labelcast inspect` runs on hostile input beyond the container demuxers — HLS
/// playlists and their AIGC date ranges, fMP4 boxes and `emsg`, the service's URL guard — and
/// the inputs the fuzz targets (Fuzz/) found or were seeded with, each of which once crashed,
/// hung or broke the report.
@Suite struct InspectParserTests {
    static let value = AIGCMetadata(contentProducer: "p", produceID: "id").jsonValue
    static var hex: String { value.utf8.map { String(format: "%02X", $0) }.joined() }

    @Test func aMediaPlaylistsDateRangesLandOnTheMediaTimeline() throws {
        let text = """
        #EXTM3U\r
        #EXT-X-TARGETDURATION:2
        #EXT-X-DATERANGE:ID="aigc-1",CLASS="org.labelcast.aigc",START-DATE="2026-12-02T04:00:01.000Z",DURATION=3.000,X-AIGC-LABEL="AI-generated",X-AIGC=0x\(Self.hex)
        #EXT-X-PROGRAM-DATE-TIME:2026-12-02T04:00:00.000+0000
        #EXTINF:2.000000,
        out0.ts
        #EXTINF:2.000000,
        out1.ts
        #EXT-X-DATERANGE:ID="other",CLASS="com.example.ad",START-DATE="2026-12-02T04:00:02.000Z"
        #EXT-X-DATERANGE:ID="aigc-2",CLASS="org.labelcast.aigc",START-DATE="2026-12-02T04:00:03.500Z",X-AIGC=0x\(Self.hex)
        #EXTINF:2.000000,
        out2.ts
        #EXT-X-ENDLIST
        """
        let p = try HLSPlaylist.parse(text)
        #expect(!p.isMaster && p.endList && p.segments.map(\.uri) == ["out0.ts", "out1.ts", "out2.ts"] && p.dateRanges.count == 3)
        #expect(p.segments[2].programDate == HLSPlaylist.parseDate("2026-12-02T04:00:04.000Z"), "the program date carries on")
        let layers = HLSInspection.dateRangeLayers(p, duration: 6)
        #expect(layers.count == 1 && layers[0].tier == .declared && layers[0].wellFormed == true, "\(layers)")
        // The open second range runs to the end of the listed media.
        #expect(layers[0].ranges == [.init(start: 1, end: 4), .init(start: 3.5, end: 6)], "\(layers[0].ranges)")
        // X-AIGC missing on labelcast's class: a malformed (tier 3) marking; no dates: not placeable.
        let bare = try HLSPlaylist.parse(text.replacingOccurrences(of: ",X-AIGC=0x\(Self.hex)", with: ""))
        #expect(HLSInspection.dateRangeLayers(bare, duration: 6).map(\.tier) == [.suspected])
        let undated = try HLSPlaylist.parse(text.replacingOccurrences(of: "#EXT-X-PROGRAM-DATE-TIME:2026-12-02T04:00:00.000+0000\n", with: ""))
        let u = HLSInspection.dateRangeLayers(undated, duration: 6)
        #expect(u.count == 1 && u[0].timed == false && u[0].tier == .suspected, "\(u)")
    }

    @Test func masterPlaylistsAttributesAndReferences() throws {
        let p = try HLSPlaylist.parse("#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=800000,CODECS=\"avc1.4d401e,mp4a.40.2\",RESOLUTION=640x360\nlow/index.m3u8\n#EXT-X-STREAM-INF:BANDWIDTH=2000000\nhttp://cdn.example/high.m3u8\n")
        #expect(p.isMaster && p.variants.count == 2 && p.variants[0].codecs == "avc1.4d401e,mp4a.40.2" && p.variants[0].bandwidth == 800_000)
        #expect(HLSPlaylist.resolve("low/index.m3u8", against: "http://h:8/a/master.m3u8") == "http://h:8/a/low/index.m3u8")
        #expect(HLSPlaylist.resolve("/x.ts", against: "http://h:8/a/master.m3u8") == "http://h:8/x.ts")
        #expect(HLSPlaylist.resolve("seg.ts", against: "/tmp/hls/out.m3u8") == "/tmp/hls/seg.ts")
        #expect(HLSPlaylist.attributes(#"A=1,B="x,y",C=0xAB"#) == ["A": "1", "B": "x,y", "C": "0xAB"])
        #expect(HLSPlaylist.attributes(#"A="unterminated"#) == [:])
        #expect(HLSPlaylist.hexBytes("0x4142") == [0x41, 0x42] && HLSPlaylist.hexBytes("0x414") == nil && HLSPlaylist.hexBytes("4142") == nil)
        #expect(throws: HLSPlaylist.NotAPlaylist.self) { try HLSPlaylist.parse("<html>") }
        #expect(HLSInspection.isPlaylist("http://h/live/index.m3u8?token=x") && HLSInspection.isPlaylist("/tmp/o.M3U8") && !HLSInspection.isPlaylist("/tmp/o.ts"))
    }

    @Test func theURLGuardRefusesNonPublicAddressesAndPinsTheRest() throws {
        for (address, why) in [("127.0.0.1", "loopback"), ("10.0.0.1", "private"), ("172.31.255.255", "private"), ("192.168.1.1", "private"),
                               ("169.254.169.254", "link-local"), ("100.64.0.1", "shared address space (CGNAT)"), ("0.0.0.0", "this network"),
                               ("224.0.0.251", "multicast"), ("255.255.255.255", "broadcast"), ("::1", "loopback"), ("::", "unspecified"),
                               ("fe80::1", "link-local"), ("fd12::1", "unique local (private)"), ("::ffff:127.0.0.1", "loopback, inside an IPv6 address"),
                               ("64:ff9b::a9fe:a9fe", "link-local, inside an IPv6 address")] {
            #expect(URLGuard.nonPublic(try #require(URLGuard.parse(address))) == why, "\(address)")
        }
        for address in ["93.184.216.34", "8.8.8.8", "172.32.0.1", "2606:4700::1111", "::ffff:8.8.8.8"] {
            #expect(URLGuard.nonPublic(try #require(URLGuard.parse(address))) == nil, "\(address)")
        }
        let open = try URLGuard(schemes: ["http,rtmp"], hosts: [])
        #expect(throws: URLGuard.Refusal.self) { try open.admit("http://127.0.0.1:8080/x.ts") }
        #expect(throws: URLGuard.Refusal.self) { try open.admit("https://8.8.8.8/x.ts") }
        #expect(throws: URLGuard.Refusal.self) { try open.admit("srt://8.8.8.8:9000?mode=listener") }
        let public_ = try open.admit("http://8.8.8.8:8080/live/x.ts?a=1")
        #expect(public_.url == "http://8.8.8.8:8080/live/x.ts?a=1" && public_.options["max_redirects"] == "0" && public_.options["headers"] == "Host: 8.8.8.8:8080\r\n")
        let lan = try URLGuard(schemes: ["http", "rtmp"], hosts: ["10.20.0.0/16", "localhost"])
        #expect(try lan.admit("rtmp://10.20.3.4/live/key").url == "rtmp://10.20.3.4/live/key")
        #expect(throws: URLGuard.Refusal.self) { try lan.admit("rtmp://10.21.3.4/live/key") }
        // A name is pinned to the address checked; the name stays in Host:.
        let pinned = try lan.admit("http://localhost:9/x.m3u8")
        #expect(pinned.url == "http://127.0.0.1:9/x.m3u8" || pinned.url == "http://[::1]:9/x.m3u8", "\(pinned.url)")
        #expect(pinned.options["headers"] == "Host: localhost:9\r\n")
        #expect(throws: LabelcastError.self) { try URLGuard(schemes: ["file"], hosts: []) }
        #expect(throws: LabelcastError.self) { try URLGuard(schemes: ["http"], hosts: ["10.0.0.0/99"]) }
    }

    /// Found by `fuzz-media-boxes` / seeded from reading BMFFBox while writing the target: each
    /// trapped (integer overflow, index out of range) or ran for minutes before the fix.
    @Test func hostileBoxesAreReadWithoutATrapOrAHang() {
        func box(_ type: String, _ payload: [UInt8]) -> [UInt8] {
            let n = UInt32(8 + payload.count)
            return [UInt8(n >> 24), UInt8(n >> 16 & 0xFF), UInt8(n >> 8 & 0xFF), UInt8(n & 0xFF)] + Array(type.utf8) + payload
        }
        // A 64-bit size above Int.max (Int(UInt64) trapped) and one that made `o + size` overflow.
        #expect(BMFFBox.list([0, 0, 0, 1] + Array("free".utf8) + [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xF0]).isEmpty)
        #expect(BMFFBox.list([0, 0, 0, 1] + Array("free".utf8) + [0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xF0]).isEmpty)
        // Empty tkhd/mdhd at the end of the buffer (read one byte past it).
        #expect(BMFFBox.trackTimescales(initSegment: box("moov", box("trak", box("tkhd", []) + box("mdia", box("mdhd", []))))).isEmpty)
        // A trun claiming 2^32-1 samples with per-sample durations: bounded by the box (was 4e9 turns).
        let tfhd = box("tfhd", [0, 0, 0, 0, 0, 0, 0, 1])
        let tfdt = box("tfdt", [1, 0, 0, 0] + [UInt8](repeating: 0xFF, count: 8))
        let trun = box("trun", [0, 0, 1, 0, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF])
        let moof = box("moof", box("traf", tfhd + tfdt + trun))
        let started = Date()
        let span = BMFFBox.segmentSpan(moof, tracks: [1: (90_000, 0xFFFF_FFFF)])
        #expect(Date().timeIntervalSince(started) < 1 && span.map { $0.start.isFinite && $0.end >= $0.start } == true, "\(String(describing: span))")
        // Default durations: 2^32-1 samples × 2^32-1 and a base near 2^64 (overflow traps).
        let trun2 = box("trun", [0, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF])
        #expect(BMFFBox.segmentSpan(box("moof", box("traf", tfhd + tfdt + trun2)), tracks: [1: (1, 0xFFFF_FFFF)]) != nil)
        // emsg cut short: nothing, no read past the box.
        #expect(EmsgEvent.all(in: box("emsg", [1, 0, 0, 0, 0, 0])).isEmpty)
        #expect(EmsgEvent.all(in: box("emsg", [0, 0, 0, 0] + Array("s".utf8))).isEmpty)
    }

    /// Found by `fuzz-c2pa-report` at once (on a seed one step from the inf case): a manifest's
    /// labelcast range ending at 1.5e308 s became infinity when rounded to the millisecond, and
    /// the report no longer encoded as JSON (`inspect --json` failed, `serve` answered `{}`).
    @Test func aHugeC2PARangeStillGivesAJSONReport() throws {
        let store = #"{"active_manifest":"m","manifests":{"m":{"assertions":[{"label":"org.labelcast.labeling","data":{"synthetic_ranges":[{"start":6,"end":1.5e308}]}}]}},"validation_state":"Valid"}"#
        let layer = C2PAInspection.layer(fromStoreJSON: store, mode: "embedded", sidecar: nil, place: "x", trusted: false, library: nil)
        #expect(layer.ranges.map(\.end) == [1.5e308])
        let json = try InspectionReport(input: "x", container: nil, duration: 1e308, windowed: false, layers: [layer], notes: []).json()
        #expect(json.contains("1.5e+308") || json.contains("1.5e308"), "\(json)")
    }
}
