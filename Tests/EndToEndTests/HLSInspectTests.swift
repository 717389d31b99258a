import Foundation
import Testing
import TestSupport

/// `labelcast inspect` on HLS (issue 20): labelcast writes an HLS output with MPEG-TS and with
/// fMP4 segments over a synthetic segment; inspect, given the playlist as a local file and as
/// an http:// URL (python3's http.server on loopback), finds the `EXT-X-DATERANGE` ranges, the
/// segments' own markings (timed ID3 in TS, emsg ID3 and the init tag in fMP4), the tier and
/// the watermark ranges; a master playlist is followed to its first variant; a playlist whose
/// date ranges are stripped, or whose `X-AIGC` is removed, changes the report as documented.
@Suite(.serialized) struct HLSInspectTests {
    typealias Inspection = InspectTests.Inspection

    static func serveDirectory(_ dir: String, log: String) throws -> (LiveServers.Background, Int) {
        let port = LiveServers.freePort()
        let server = try LiveServers.Background("python3", ["-m", "http.server", String(port), "--bind", "127.0.0.1", "--directory", dir], log: log)
        #expect(LiveRTMPTests.waitUntil(20) { (try? LiveServers.http("GET", "http://127.0.0.1:\(port)/").status) == 200 }, "http.server did not start")
        return (server, port)
    }

    static func near(_ a: Double, _ b: Double, _ tolerance: Double) -> Bool { abs(a - b) <= tolerance }

    @Test(.timeLimit(.minutes(8)))
    func inspectFollowsHLSPlaylistsAndReadsTheirDateRanges() throws {
        let dir = try TestSupport.temporaryDirectory("labelcast-inspect-hls")
        let key = try InspectTests.keyFile(dir)
        try InspectTests.makeClip(dir + "/in.mp4", seconds: 6)
        for type in ["mpegts", "fmp4"] {
            try FileManager.default.createDirectory(atPath: dir + "/" + type, withIntermediateDirectories: true)
            let run = try TestSupport.labelcast(["run", "-q", "-i", dir + "/in.mp4", "-o", dir + "/\(type)/out.m3u8", "--segments", "1-4", "--key-file", key,
                                                 "--payload-id", "0x2A", "--gop", "1",
                                                 "--aigc-producer", InspectTests.producer, "--aigc-produce-id", InspectTests.produceID,
                                                 "--muxer-opt", "hls_segment_type=\(type)"], timeout: 240)
            #expect(run.status == 0, "\(type): \(run.stderr)")
            let playlist = try String(contentsOfFile: dir + "/\(type)/out.m3u8", encoding: .utf8)
            #expect(playlist.contains("#EXT-X-DATERANGE:"), "\(type): labelcast wrote no date range: \(playlist)")

            let i = try InspectTests.inspect([dir + "/\(type)/out.m3u8", "--key-file", key])
            #expect(i.status == 0 && i.tier == 1, "\(type): \(i.text)")
            let hls = i.json["hls"] as? [String: Any] ?? [:]
            #expect(hls["segment_type"] as? String == type && hls["master"] as? Bool == false && hls["end_list"] as? Bool == true, "\(hls)")
            #expect((hls["segments"] as? Int ?? 0) >= 5 && hls["segments"] as? Int == hls["segments_listed"] as? Int, "\(hls)")
            let metadata = i.layers("aigc_metadata")
            // The playlist's date range: 1-4 s on the media timeline, the producer's value.
            let dateRange = try #require(metadata.first { ($0["place"] as? String ?? "").hasPrefix("HLS EXT-X-DATERANGE") }, "\(type): \(i.text)")
            #expect(dateRange["well_formed"] as? Bool == true && dateRange["tier"] as? Int == 1, "\(dateRange)")
            #expect((dateRange["aigc"] as? [String: String])?["ProduceID"] == InspectTests.produceID)
            let ranges = Inspection.ranges(dateRange)
            #expect(ranges.count == 1 && Self.near(ranges[0].start, 1, 0.05) && Self.near(ranges[0].end, 4, 0.1), "\(type): \(ranges)")
            // The segments' own markings.
            if type == "mpegts" {
                let id3 = try #require(metadata.first { ($0["place"] as? String ?? "").hasPrefix("MPEG-TS timed ID3") }, "\(i.text)")
                let r = Inspection.ranges(id3)
                #expect(r.count == 1 && Self.near(r[0].start, 1, 0.1), "\(r)")
            } else {
                let emsg = try #require(metadata.first { $0["place"] as? String == "fMP4 emsg ID3 (TXXX AIGC)" }, "\(i.text)")
                let r = Inspection.ranges(emsg)
                #expect(r.count == 1 && Self.near(r[0].start, 1, 0.05) && Self.near(r[0].end, 4, 0.1), "\(r)")
                #expect(metadata.contains { ($0["place"] as? String ?? "").hasPrefix("MP4/MOV tag") }, "no init segment tag: \(i.text)")
            }
            // The video mark over the segment, in the segments' media.
            let w = Inspection.ranges(i.layer("video_watermark"))
            #expect(!w.isEmpty && w.allSatisfy { $0.payload == "0x0000002A" }, "\(type): \(w)")
            if let lo = w.map(\.start).min(), let hi = w.map(\.end).max() {
                #expect(lo > 0.8 && lo < 2.4 && Self.near(hi, 4, 0.5), "\(type): \(w)")
            }

            // Date ranges stripped: that layer is gone, the segments' markings still declare (tier 1).
            let stripped = playlist.split(separator: "\n", omittingEmptySubsequences: false).filter { !$0.hasPrefix("#EXT-X-DATERANGE") }.joined(separator: "\n")
            try stripped.write(toFile: dir + "/\(type)/stripped.m3u8", atomically: true, encoding: .utf8)
            let s = try InspectTests.inspect([dir + "/\(type)/stripped.m3u8", "--key-file", key])
            #expect(!s.layers("aigc_metadata").contains { ($0["place"] as? String ?? "").hasPrefix("HLS") }, "\(type): \(s.text)")
            #expect(s.tier == 1 && (s.json["hls"] as? [String: Any])?["date_ranges"] as? Int == 0, "\(type): \(s.text)")
            // The X-AIGC value removed, labelcast's class kept: a malformed marking (tier 3 alone).
            let noValue = playlist.replacingOccurrences(of: #",X-AIGC=0x[0-9A-F]+"#, with: "", options: .regularExpression)
            try noValue.write(toFile: dir + "/\(type)/novalue.m3u8", atomically: true, encoding: .utf8)
            let n = try InspectTests.inspect([dir + "/\(type)/novalue.m3u8", "--key-file", key])
            let bad = try #require(n.layers("aigc_metadata").first { ($0["place"] as? String ?? "").hasPrefix("HLS") }, "\(n.text)")
            #expect(bad["well_formed"] as? Bool == false && bad["tier"] as? Int == 3, "\(bad)")
        }

        // Over http://, and a master playlist: the first variant is read, the report says so.
        try """
        #EXTM3U
        #EXT-X-STREAM-INF:BANDWIDTH=900000,RESOLUTION=640x360
        mpegts/out.m3u8
        #EXT-X-STREAM-INF:BANDWIDTH=800000,RESOLUTION=640x360
        fmp4/out.m3u8

        """.write(toFile: dir + "/master.m3u8", atomically: true, encoding: .utf8)
        let (server, port) = try Self.serveDirectory(dir, log: dir + "/http.log")
        defer { _ = server.stop() }
        let remote = try InspectTests.inspect(["http://127.0.0.1:\(port)/fmp4/out.m3u8", "--key-file", key])
        let local = try InspectTests.inspect([dir + "/fmp4/out.m3u8", "--key-file", key])
        #expect(remote.tier == 1)
        #expect(remote.layers.map { $0["place"] as? String } == local.layers.map { $0["place"] as? String }, "\(remote.text)\n\(local.text)")
        #expect(Inspection.ranges(remote.layers("aigc_metadata").first { ($0["place"] as? String ?? "").hasPrefix("HLS") }).map(\.start)
            == Inspection.ranges(local.layers("aigc_metadata").first { ($0["place"] as? String ?? "").hasPrefix("HLS") }).map(\.start))
        let master = try InspectTests.inspect(["http://127.0.0.1:\(port)/master.m3u8", "--key-file", key])
        let info = master.json["hls"] as? [String: Any] ?? [:]
        #expect(info["master"] as? Bool == true && info["inspected_variant"] as? String == "mpegts/out.m3u8" && (info["variants"] as? [Any])?.count == 2, "\(info)")
        #expect((master.json["notes"] as? [String] ?? []).contains { $0.contains("2 variants") }, "\(master.text)")
        #expect(master.tier == 1 && master.layers("aigc_metadata").contains { ($0["place"] as? String ?? "").hasPrefix("MPEG-TS timed ID3") })
        // A segment missing: a one-line error, exit 2, no temporary copy left.
        try FileManager.default.removeItem(atPath: dir + "/mpegts/out2.ts")
        let before = TestSupport.files(in: NSTemporaryDirectory()).filter { $0.hasSuffix(".hls") }
        let missing = try TestSupport.labelcast(["inspect", "http://127.0.0.1:\(port)/mpegts/out.m3u8"], timeout: 120)
        #expect(missing.status >= 2 && missing.errorLines.count == 1 && missing.stderr.contains("out2.ts"), "\(missing.stderr)")
        #expect(TestSupport.files(in: NSTemporaryDirectory()).filter { $0.hasSuffix(".hls") } == before)
    }

    /// DASH: `labelcast inspect out.mpd` reads the manifest's AIGC EventStream (timed ranges),
    /// each representation's segments (emsg ID3, and C2PA: the init segment's manifest with
    /// every media segment, their order checked, one layer per representation) next to the
    /// media FFmpeg's DASH demuxer reads (watermarks). Oracles: the schedule given to the run,
    /// the reference implementation (c2pa-rs, through inspect's validation), and the files
    /// themselves (an EventStream stripped, two segments swapped on disk).
    @Test(.timeLimit(.minutes(6)))
    func inspectReadsDASHManifestsAndTheirSegments() throws {
        let dir = try TestSupport.temporaryDirectory("labelcast-inspect-dash")
        let key = try InspectTests.keyFile(dir)
        try InspectTests.makeClip(dir + "/in.mp4", seconds: 6)
        let pki = try C2PATests.makePKI()
        try FileManager.default.createDirectory(atPath: dir + "/dash", withIntermediateDirectories: true)
        let run = try C2PATests().sign(["-q", "-i", dir + "/in.mp4", "-o", dir + "/dash/out.mpd", "--segments", "1-4", "--key-file", key,
                                        "--payload-id", "0x2A", "--gop", "1",
                                        "--aigc-producer", InspectTests.producer, "--aigc-produce-id", InspectTests.produceID], pki: pki)
        #expect(run.status == 0, "\(run.stderr)")
        let mpd = try String(contentsOfFile: dir + "/dash/out.mpd", encoding: .utf8)

        let i = try InspectTests.inspect([dir + "/dash/out.mpd", "--key-file", key, "--c2pa-trust", pki.root])
        #expect(i.status == 0 && i.tier == 1, "\(i.text)")
        let metadata = i.layers("aigc_metadata")
        let events = try #require(metadata.first { ($0["place"] as? String ?? "").hasPrefix("DASH MPD EventStream") }, "\(i.text)")
        #expect(events["well_formed"] as? Bool == true && events["tier"] as? Int == 1, "\(events)")
        #expect((events["aigc"] as? [String: String])?["ProduceID"] == InspectTests.produceID)
        let r = Inspection.ranges(events)
        #expect(r.count == 1 && Self.near(r[0].start, 1, 0.05) && Self.near(r[0].end, 4, 0.1), "\(r)")
        let emsg = try #require(metadata.first { $0["place"] as? String == "fMP4 emsg ID3 (TXXX AIGC)" }, "\(i.text)")
        let e = Inspection.ranges(emsg)
        #expect(e.count == 1 && Self.near(e[0].start, 1, 0.05) && Self.near(e[0].end, 4, 0.1), "\(e)")
        let c2pa = i.layers("c2pa")
        #expect(c2pa.count == 2, "one C2PA layer per representation (video, audio): \(i.text)")
        for layer in c2pa {
            let f = layer["c2pa"] as? [String: Any] ?? [:]
            #expect(f["mode"] as? String == "segmented" && f["validation"] as? String == "trusted" && (f["sequence_problems"] as? [String]) == [], "\(layer)")
        }
        let w = Inspection.ranges(i.layer("video_watermark"))
        #expect(!w.isEmpty && w.allSatisfy { $0.payload == "0x0000002A" }, "\(w)")

        // The EventStream stripped: that layer is gone; the segments' emsg still declares.
        let stripped = mpd.replacingOccurrences(of: #"<EventStream schemeIdUri="urn:org\.labelcast:aigc:2026".*?</EventStream>"#, with: "", options: .regularExpression)
        #expect(stripped != mpd)
        try stripped.write(toFile: dir + "/dash/stripped.mpd", atomically: true, encoding: .utf8)
        let s = try InspectTests.inspect([dir + "/dash/stripped.mpd", "--key-file", key])
        #expect(!s.layers("aigc_metadata").contains { ($0["place"] as? String ?? "").hasPrefix("DASH") } && s.tier == 1, "\(s.text)")

        // Two video segments swapped on disk: that representation's C2PA layer says so.
        let a = dir + "/dash/out-0-00002.m4s", b = dir + "/dash/out-0-00003.m4s", t = dir + "/dash/tmp.m4s"
        try FileManager.default.moveItem(atPath: a, toPath: t)
        try FileManager.default.moveItem(atPath: b, toPath: a)
        try FileManager.default.moveItem(atPath: t, toPath: b)
        let x = try InspectTests.inspect([dir + "/dash/out.mpd", "--key-file", key, "--c2pa-trust", pki.root])
        let video = try #require(x.layers("c2pa").first { ($0["place"] as? String ?? "").contains("representation '0'") }, "\(x.text)")
        let vf = video["c2pa"] as? [String: Any] ?? [:]
        #expect(vf["validation"] as? String == "invalid" && (vf["failures"] as? [String])?.contains("labelcast.segment.reordered") == true, "\(video)")
        #expect(x.layers("c2pa").contains { ($0["place"] as? String ?? "").contains("representation '1'") && ($0["c2pa"] as? [String: Any])?["validation"] as? String == "trusted" },
                "the audio representation stays valid: \(x.text)")
    }
}
