import Foundation
import Labelcast
import Testing
import TestSupport

/// The machine-readable marking follows what goes out, also when a run is switched synthetic
/// only after its header was written (the operator's main path), and `--synthetic auto` reads
/// markings that arrive mid-stream: another labelcast's timed ID3 on MPEG-TS and an FLV
/// onMetaData update. Runs are switched through the real control API; ffprobe and the bytes of
/// the outputs are the oracle.
@Suite(.serialized) struct LiveMarkingTests {
    static let token = "marking-test-token-1"

    /// Runs `labelcast run --realtime --listen` on `input`, switches on after ~1.2 s through
    /// `PUT /synthetic`, and returns the answered media time once the run has ended.
    static func runSwitched(_ dir: String, input: String, output: String, extra: [String] = []) throws -> Double {
        let port = LiveServers.freePort()
        let lc = try LiveServers.Background(TestSupport.labelcastBinary, [
            "run", "-i", input, "-o", output, "--realtime", "--listen", "127.0.0.1:\(port)", "--control-token", token,
            "--audit-log", dir + "/audit-\(URL(fileURLWithPath: output).lastPathComponent).jsonl", "--aigc-produce-id", "marking-test-1",
        ] + extra, log: output + ".log")
        defer { lc.stop(SIGKILL) }
        let base = "http://127.0.0.1:\(port)"
        #expect(LiveRTMPTests.waitUntil(15) { (try? LiveServers.http("GET", base + "/synthetic", token: token).status) == 200 }, "\(lc.log)")
        Thread.sleep(forTimeInterval: 1.2)
        let on = try LiveServers.http("PUT", base + "/synthetic", body: #"{"synthetic": true}"#, token: token)
        #expect(on.status == 200, "\(on)")
        let t = try #require((try JSONSerialization.jsonObject(with: Data(on.body.utf8)) as? [String: Any])?["media_time"] as? Double)
        lc.process.waitUntilExit()
        #expect(lc.process.terminationStatus == 0, "\(lc.log)")
        return t
    }

    static func aigcValue() -> String {
        AIGCMetadata(contentProducer: ProvenanceSettings().producer, produceID: "marking-test-1").jsonValue
    }

    @Test(.timeLimit(.minutes(3)))
    func aRunSwitchedOnLiveCarriesTheMarkingInEveryContainer() throws {
        let dir = try TestSupport.temporaryDirectory("labelcast-live-marking")
        try TestSupport.makeMedia(dir + "/in.mp4", seconds: 4, video: "testsrc2=size=320x240:rate=25")
        // MPEG-TS: a timed-ID3 stream, with the AIGC tag from the switch on.
        let tTS = try Self.runSwitched(dir, input: dir + "/in.mp4", output: dir + "/out.ts")
        let streams = try TestSupport.probe(dir + "/out.ts")
        #expect(streams.contains { $0.codecType == "data" && $0.codecName == "timed_id3" }, "\(streams.map(\.codecName))")
        let id3 = try TestSupport.run("ffprobe", ["-v", "error", "-select_streams", "d:0", "-show_packets", "-show_data", "-of", "json", dir + "/out.ts"])
        let packets = (try JSONSerialization.jsonObject(with: id3.stdout) as? [String: Any])?["packets"] as? [[String: Any]] ?? []
        let times = packets.compactMap { Double($0["pts_time"] as? String ?? "") }
        #expect(!times.isEmpty, "no timed ID3 packet")
        // On the output's clock: media time 0 is the video's start (TS outputs start 1.4 s on).
        let origin = streams.first { $0.codecType == "video" }?.startTime ?? 0
        if let first = times.min() {
            #expect(abs(first - origin - tTS) < 0.1, "first AIGC tag at \(first - origin), switch at \(tTS)")
        }
        // The data stream's payload as ffmpeg demuxes it holds the TXXX frame with the value.
        let data = try TestSupport.run("ffmpeg", ["-v", "error", "-i", dir + "/out.ts", "-map", "0:d:0", "-c", "copy", "-f", "data", "-"])
        #expect(data.stdout.range(of: Data(("AIGC\u{0}" + Self.aigcValue()).utf8)) != nil, "the AIGC TXXX frame is not in the TS")
        // MP4, MOV and Matroska: the container tag, decided when the trailer is written
        // (Matroska: reserved in the header and filled in place, `MatroskaTagPatch`).
        for ext in ["mp4", "mov", "mkv"] {
            _ = try Self.runSwitched(dir, input: dir + "/in.mp4", output: dir + "/out." + ext)
            let tags = try TestSupport.probeFormat(dir + "/out." + ext).tags
            #expect(tags.first { $0.key.uppercased() == "AIGC" }?.value == Self.aigcValue(), "\(ext): \(tags)")
        }
        // FLV: an onMetaData update carrying AIGC after the first one (which cannot have it).
        _ = try Self.runSwitched(dir, input: dir + "/in.mp4", output: dir + "/out.flv")
        let flv = try Data(contentsOf: URL(fileURLWithPath: dir + "/out.flv"))
        let marker = Data("onMetaData".utf8)
        var metas: [Range<Data.Index>] = []
        var from = flv.startIndex
        while let r = flv.range(of: marker, in: from..<flv.endIndex) { metas.append(r); from = r.upperBound }
        #expect(metas.count >= 2, "\(metas.count) onMetaData tags")
        if let first = metas.first, let aigc = flv.range(of: Data("AIGC".utf8)) {
            #expect(aigc.lowerBound > metas[1].lowerBound && first.lowerBound < metas[1].lowerBound)
        } else {
            Issue.record("no AIGC field in the FLV")
        }
        // And a run that never turns synthetic claims nothing, in any of them.
        try TestSupport.makeMedia(dir + "/short.mp4", seconds: 1)
        for ext in ["ts", "mp4", "flv", "mkv"] {
            let r = try TestSupport.labelcast(["run", "-i", dir + "/short.mp4", "-o", dir + "/plain." + ext, "--listen", "127.0.0.1:0", "-q"])
            #expect(r.status == 0, "\(r.stderr)")
            let data = try Data(contentsOf: URL(fileURLWithPath: dir + "/plain." + ext))
            #expect(data.range(of: Data("AIGC".utf8)) == nil && data.range(of: Data("LCPH".utf8)) == nil, "\(ext): marked although nothing synthetic went out")
            #expect(try TestSupport.probe(dir + "/plain." + ext).contains { $0.codecType == "video" && $0.frames == 30 }, "\(ext) does not decode whole")
        }
    }

    /// Dark pixels of the label box in a region of a flat grey 320x240 frame.
    static func darkCount(_ f: [UInt8], x: Range<Int>, y: Range<Int>) -> Int {
        var dark = 0
        for row in y { for col in x where f[row * 320 + col] < 90 { dark += 1 } }
        return dark
    }

    /// Two labelcasts in a chain over MPEG-TS: the second, with `--synthetic auto`, finds the
    /// first one's timed ID3 and labels from its media time on. Pixels: the second run's label
    /// sits bottom-left (the first one's top-right), so its presence is read off the picture.
    @Test(.timeLimit(.minutes(3)))
    func autoFollowsTimedID3FromAnUpstreamLabelcast() throws {
        let dir = try TestSupport.temporaryDirectory("labelcast-auto-ts")
        try TestSupport.makeMedia(dir + "/in.mp4", seconds: 12, video: "color=c=0x808080:size=320x240:rate=25")
        let first = try TestSupport.labelcast(["run", "-i", dir + "/in.mp4", "-o", dir + "/up.ts", "--segments", "2-4", "-q"])
        #expect(first.status == 0, "\(first.stderr)")
        let out = dir + "/down.mkv"
        let r = try TestSupport.labelcast(["run", "-i", dir + "/up.ts", "-o", out, "--synthetic", "auto",
                                           "--label-position", "bottom-left", "--audit-log", out + ".audit", "-q"])
        #expect(r.status == 0, "\(r.stderr)")
        let times = try LabelGateTests.frameTimes(out)
        let frames = try TestSupport.lumaFrames(out, width: 320, height: 240)
        let labeled = zip(times, frames).filter { Self.darkCount($0.1, x: 0..<160, y: 190..<240) > 200 }.map(\.0)
        let start = try #require(labeled.first, "never labeled")
        // The ID3 tag is read when its packet is demuxed: a few frames late at most.
        #expect(start >= 2 - 0.001 && start < 2.3, "labeled from \(start); the upstream marked 2-4")
        // Labeled without a gap from there until the marking stopped repeating (+ the hold).
        let run = labeled.filter { $0 >= start && $0 < 4 }
        #expect(run.count >= Int((4 - start) * 25) - 1, "\(run.count) labeled frames in [\(start), 4)")
        #expect(!labeled.contains { $0 >= 4 + 6.5 }, "still labeled long after the marking ended")
        let audit = (try? String(contentsOfFile: out + ".audit", encoding: .utf8)) ?? ""
        #expect(audit.contains(#""event":"marking_found""#) && audit.contains("timed ID3"), "\(audit)")
        #expect(audit.contains(#""event":"marking_ended""#), "\(audit)")
    }
}
