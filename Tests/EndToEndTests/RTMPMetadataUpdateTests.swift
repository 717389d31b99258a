import Foundation
import Labelcast
import Testing
import TestSupport

/// A live run switched synthetic after its header sends an updated onMetaData with the AIGC
/// field (issue 15, item 2 for FLV/RTMP). Verified through a real nginx-rtmp with `meta copy;`
/// in the application (without it nginx sends players its own onMetaData, AIGC dropped):
/// a player joining after the switch reads the field, and a second labelcast that was already
/// playing, with `--synthetic auto`, labels from about the switch on. Labelcast A publishes a
/// flat grey picture with its label top-right; B labels bottom-left, so both labels are read
/// off B's output: B's label must start with (within a few frames after) A's. B's own AIGC
/// field propagates A's (producer kept, B as propagator).
@Suite(.serialized) struct RTMPMetadataUpdateTests {
    static let token = "rtmp-meta-test-token"

    @Test(.timeLimit(.minutes(2)))
    func anOnMetaDataUpdateReachesLateAndPlayingSubscribers() throws {
        let dir = try TestSupport.temporaryDirectory("labelcast-rtmp-meta")
        let nginx = try LiveServers.NginxRTMP(dir: dir, live: "meta copy;")
        defer { nginx.stop() }
        let input = dir + "/in.mp4"
        try TestSupport.makeMedia(input, seconds: 9, video: "color=c=0x808080:size=320x240:rate=25",
                                  extra: ["-c:v", "libx264", "-preset", "ultrafast", "-g", "25"])
        let url = nginx.url("live", "x")
        let port = LiveServers.freePort()
        let a = try LiveServers.Background(TestSupport.labelcastBinary, [
            "run", "-i", input, "-o", url, "--realtime", "--listen", "127.0.0.1:\(port)", "--control-token", Self.token,
            "--aigc-produce-id", "rtmp-meta-1", "--audit-log", dir + "/a.audit",
        ], log: dir + "/a.log")
        defer { a.stop(SIGKILL) }
        let base = "http://127.0.0.1:\(port)"
        #expect(LiveRTMPTests.waitUntil(15) { (try? LiveServers.http("GET", base + "/synthetic", token: Self.token).status) == 200 }, "\(a.log)")

        // B plays the stream before the switch.
        let out = dir + "/b.mkv", bAudit = dir + "/b.audit"
        let b = try LiveServers.Background(TestSupport.labelcastBinary, [
            "run", "-i", url, "-o", out, "--synthetic", "auto", "--label-position", "bottom-left",
            "--audit-log", bAudit, "--read-timeout", "2", "--aigc-produce-id", "rtmp-meta-2",
        ], log: dir + "/b.log")
        defer { b.stop(SIGKILL) }
        func bAuditText() -> String { (try? String(contentsOfFile: bAudit, encoding: .utf8)) ?? "" }
        #expect(LiveRTMPTests.waitUntil(10) { bAuditText().contains(#""event":"run_start""#) }, "\(b.log)")
        Thread.sleep(forTimeInterval: 1)
        #expect(bAuditText().contains(#""resolved_mode":"none""#), "B saw a marking before the switch: \(bAuditText())")

        let on = try LiveServers.http("PUT", base + "/synthetic", body: #"{"synthetic": true}"#, token: Self.token)
        #expect(on.status == 200, "\(on)")

        // (a) A player that joins after the switch reads the field from nginx's copy.
        Thread.sleep(forTimeInterval: 1)
        let probe = try TestSupport.run("ffprobe", ["-v", "error", "-rw_timeout", "5000000", "-show_entries", "format_tags",
                                                    "-of", "json", url], timeout: 15)
        let tags = ((try? JSONSerialization.jsonObject(with: probe.stdout)) as? [String: Any])
            .flatMap { ($0["format"] as? [String: Any])?["tags"] as? [String: String] } ?? [:]
        let expected = AIGCMetadata(contentProducer: ProvenanceSettings().producer, produceID: "rtmp-meta-1").jsonValue
        #expect(tags["AIGC"] == expected, "late subscriber's tags: \(tags) \(probe.stderr)")

        // A ends with its input; B then loses the stream and is stopped.
        #expect(LiveRTMPTests.waitUntil(15) { !a.process.isRunning }, "\(a.log)")
        #expect(a.process.terminationStatus == 0, "\(a.log)")
        Thread.sleep(forTimeInterval: 0.5)
        #expect(b.stop(SIGTERM) == 143, "\(b.log)")

        // (b) B's audit: the update found as an onMetaData update, not at open.
        let audit = bAuditText()
        #expect(audit.contains(#""event":"marking_found""#) && audit.contains("onMetaData update"), "\(audit)")

        // B's output: A's label (top-right) from A's switch, B's (bottom-left) from about then.
        let times = try LabelGateTests.frameTimes(out)
        let frames = try TestSupport.lumaFrames(out, width: 320, height: 240)
        #expect(times.count == frames.count && frames.count > 100, "\(times.count) times, \(frames.count) frames; \(b.log)")
        let marks = zip(times, frames).map { t, f in
            (t: t, a: LiveMarkingTests.darkCount(f, x: 160..<320, y: 0..<50) > 200,
             b: LiveMarkingTests.darkCount(f, x: 0..<160, y: 190..<240) > 200)
        }
        let aStart = try #require(marks.first { $0.a }?.t, "A's label never reached B")
        let bStart = try #require(marks.first { $0.b }?.t, "B never labeled")
        #expect(marks.filter { $0.t < aStart }.count >= 25, "B recorded under a second before the switch")
        #expect(!marks.contains { $0.t < aStart && $0.b }, "B labeled before A switched")
        // The update follows A's first synthetic packet: B labels from the next safe instant.
        #expect(bStart >= aStart && bStart <= aStart + 0.2, "B labeled from \(bStart) s, A's label from \(aStart) s")
        // B's own marking propagates A's field: A's producer and ProduceID kept, B as propagator.
        let propagated = AIGCMetadata.parse(expected)?.propagated(by: ProvenanceSettings().producer, id: "rtmp-meta-2", label: "1").jsonValue
        let bTags = try TestSupport.probeFormat(out).tags
        #expect(propagated != nil && bTags.first { $0.key.uppercased() == "AIGC" }?.value == propagated, "B's tags: \(bTags)")
        let unlabeled = marks.filter { $0.t >= bStart && !$0.b }
        #expect(unlabeled.isEmpty, "B unlabeled after it started labeling at \(unlabeled.prefix(5).map(\.t))")
        #expect(!a.log.contains(Self.token) && !b.log.contains(Self.token))
    }
}
