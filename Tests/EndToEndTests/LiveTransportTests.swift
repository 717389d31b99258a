import Foundation
import Testing
import TestSupport

/// Live ingest over SRT and UDP/MPEG-TS on loopback, with ffmpeg as the far end.
@Suite(.serialized) struct LiveTransportTests {
    static func pushArgs(_ rig: LiveRTMPTests.Rig, seconds: Int, to url: String) -> [String] {
        ["-v", "error", "-re", "-f", "lavfi", "-i", "color=c=0x808080:size=640x360:rate=25",
         "-stream_loop", "-1", "-i", rig.speech, "-t", String(seconds), "-map", "0:v", "-map", "1:a",
         "-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency", "-g", "25", "-pix_fmt", "yuv420p",
         "-c:a", "aac", "-b:a", "128k", "-f", "mpegts", url]
    }

    static func check(_ file: String, key: String) throws {
        let frames = try LiveRTMPTests.labeledByTime(file)
        #expect(frames.count > 50, "\(frames.count) frames")
        #expect(frames.allSatisfy { $0.labeled }, "every frame of a --synthetic all stream carries the label")
        let d = try TestSupport.labelcast(["detect", file, "--key-file", key, "-q"])
        #expect(d.status == 0 && d.stdoutText.contains("0x0000ABCD"), "\(d.stdoutText) \(d.stderr)")
    }

    @Test(.timeLimit(.minutes(1)))
    func srtListenerIngest() throws {
        let rig = try LiveRTMPTests.rig()
        let port = LiveServers.freePort()
        let out = rig.dir + "/out.ts"
        let lc = try LiveServers.Background(TestSupport.labelcastBinary, [
            "run", "-i", "srt://127.0.0.1:\(port)?mode=listener&passphrase=srt-secret-pass", "-o", out, "--synthetic", "all",
            "--key-file", rig.key, "--payload-id", "0xABCD", "--read-timeout", "15", "--no-reconnect"], log: rig.dir + "/lc.log")
        defer { lc.stop(SIGKILL) }
        Thread.sleep(forTimeInterval: 1)
        let pub = try LiveServers.Background("ffmpeg", Self.pushArgs(rig, seconds: 8, to: "srt://127.0.0.1:\(port)?mode=caller&passphrase=srt-secret-pass"),
                                             log: rig.dir + "/pub.log")
        _ = LiveRTMPTests.waitUntil(20) { !pub.process.isRunning }
        // The caller hung up: a live input without --reconnect ends the run and finalizes.
        _ = LiveRTMPTests.waitUntil(20) { !lc.process.isRunning }
        let status = lc.stop(SIGTERM)
        #expect(status == 0 || status == 2 || status == 143, "\(lc.log)")
        #expect(!lc.log.contains("srt-secret-pass"), "the SRT passphrase never appears in logs: \(lc.log)")
        try Self.check(out, key: rig.key)
    }

    @Test(.timeLimit(.minutes(1)))
    func udpMpegtsInAndOut() throws {
        let rig = try LiveRTMPTests.rig()
        let inPort = LiveServers.freePort(), outPort = LiveServers.freePort()
        let rec = rig.dir + "/rec.ts"
        // ffmpeg's UDP input blocks in its read and ignores SIGINT; a receive timeout ends the
        // recording (and finalizes the file) a few seconds after labelcast stops sending.
        let recorder = try LiveServers.Background("ffmpeg", ["-v", "error", "-y", "-i", "udp://127.0.0.1:\(outPort)?timeout=3000000",
                                                            "-c", "copy", rec], log: rig.dir + "/rec.log")
        defer { recorder.stop(SIGKILL) }
        let lc = try LiveServers.Background(TestSupport.labelcastBinary, [
            "run", "-i", "udp://127.0.0.1:\(inPort)", "-o", "udp://127.0.0.1:\(outPort)?pkt_size=1316", "--synthetic", "all",
            "--key-file", rig.key, "--payload-id", "0xABCD", "--read-timeout", "15"], log: rig.dir + "/lc.log")
        defer { lc.stop(SIGKILL) }
        Thread.sleep(forTimeInterval: 1)
        let pub = try LiveServers.Background("ffmpeg", Self.pushArgs(rig, seconds: 10, to: "udp://127.0.0.1:\(inPort)?pkt_size=1316"),
                                             log: rig.dir + "/pub.log")
        _ = LiveRTMPTests.waitUntil(25) { !pub.process.isRunning }
        Thread.sleep(forTimeInterval: 1)
        #expect(lc.stop(SIGTERM) == 143, "\(lc.log)")
        #expect(LiveRTMPTests.waitUntil(15) { !recorder.process.isRunning }, "the recorder ends on its receive timeout")
        recorder.stop(SIGKILL)
        try Self.check(rec, key: rig.key)
    }
}
