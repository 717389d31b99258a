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

    /// A live HLS stream over HTTP (ffmpeg writes 1 s segments into nginx's web root): labelcast
    /// reads the sliding playlist as it grows, labels and marks every frame, and ends with the
    /// stream when the publisher finishes it (#EXT-X-ENDLIST). Then a publisher that dies (no
    /// ENDLIST: the playlist just stops growing) is a stalled input: the run ends after
    /// --read-timeout with a one-line error instead of waiting for ever.
    @Test(.timeLimit(.minutes(1)))
    func hlsOverHttpIn() throws {
        let rig = try LiveRTMPTests.rig()
        let www = rig.dir + "/www"
        func hlsArgs(_ name: String, seconds: Int) -> [String] {
            var a = Self.pushArgs(rig, seconds: seconds, to: "")
            a.removeLast(3) // "-f", "mpegts", url
            return a + ["-f", "hls", "-hls_time", "1", "-hls_list_size", "6", "-hls_flags", "delete_segments", www + "/" + name + ".m3u8"]
        }
        // 1: a stream that ends properly.
        var pub = try LiveServers.Background("ffmpeg", hlsArgs("a", seconds: 8), log: rig.dir + "/pub.log")
        defer { pub.stop(SIGKILL) }
        #expect(LiveRTMPTests.waitUntil(10) { FileManager.default.fileExists(atPath: www + "/a.m3u8") }, "no playlist: \(pub.log)")
        let out = rig.dir + "/out.ts"
        var r = try TestSupport.labelcast(["run", "-i", rig.nginx.httpURL("a.m3u8"), "-o", out, "--synthetic", "all",
                                           "--key-file", rig.key, "--payload-id", "0xABCD", "--read-timeout", "5"], timeout: 40)
        #expect(r.status == 0, "\(r.stderr)")
        try Self.check(out, key: rig.key)
        let video = try #require(try TestSupport.probe(out).first { $0.codecType == "video" })
        #expect(video.frames >= 150, "\(video.frames) frames of an 8 s stream read from its live edge")

        // 2: the publisher dies; the playlist stays as it was.
        pub = try LiveServers.Background("ffmpeg", hlsArgs("b", seconds: 60), log: rig.dir + "/pub2.log")
        #expect(LiveRTMPTests.waitUntil(10) { FileManager.default.fileExists(atPath: www + "/b.m3u8") }, "no playlist: \(pub.log)")
        DispatchQueue.global().asyncAfter(deadline: .now() + 4) { [pub] in pub.stop(SIGKILL) }
        let started = Date()
        r = try TestSupport.labelcast(["run", "-i", rig.nginx.httpURL("b.m3u8"), "-o", rig.dir + "/out2.ts", "--synthetic", "all",
                                       "--key-file", rig.key, "--read-timeout", "3"], timeout: 40)
        let took = Date().timeIntervalSince(started)
        #expect(r.status == 2, "\(r.status): \(r.stderr)")
        #expect(r.stderr.contains("no data for 3 s"), "\(r.stderr)")
        #expect(took < 20, "took \(took) s")
        #expect(!FileManager.default.fileExists(atPath: rig.dir + "/out2.ts"))
    }
}
