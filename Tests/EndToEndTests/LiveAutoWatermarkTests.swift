import Foundation
import Testing
import TestSupport

/// `--synthetic auto` on a live input: an upstream labelcast marked the sound from 3 s on (no
/// visible label), a platform remuxed it to MPEG-TS without its metadata, and ffmpeg streams it
/// at its native rate over UDP to labelcast B. B labels from the media time the mark says; with
/// `--auto-hold 4` from the first marked frame, and its frames leave about 4 s later. The
/// recording's pixels (the label's dark box on a flat grey picture) and B's frame log are read.
@Suite(.serialized) struct LiveAutoWatermarkTests {
    struct Outcome {
        let frames: [(pts: Double, labeled: Bool)]
        let found: [String: Any]
        /// Read-to-written latency (s) of the video frames of the first 4 s (B's frame log): the
        /// ones that left the hold while the stream ran, not at its end.
        let latencies: [Double]
    }

    /// The upstream's marked, stripped stream, made once for the suite (the tests run serially).
    nonisolated(unsafe) private static var prepared: (key: String, ts: String)?

    static func stream(hold: Double?) throws -> Outcome {
        let dir = try TestSupport.temporaryDirectory("labelcast-live-auto")
        if prepared == nil {
            let made = try AutoHoldTests.markedInput(dir: dir, video: "color=c=0x808080:size=640x360:rate=25", format: "ts")
            prepared = (made.key, made.stripped)
        }
        let (key, ts) = (prepared!.key, prepared!.ts)
        let port = LiveServers.freePort()
        let out = dir + "/b.mkv", audit = dir + "/b.jsonl", frameLog = dir + "/b.csv"
        var args = ["run", "-i", "udp://127.0.0.1:\(port)", "-o", out, "--synthetic", "auto", "--key-file", key,
                    "--audit-log", audit, "--frame-log", frameLog, "--read-timeout", "15"]
        if let hold { args += ["--auto-hold", String(hold)] }
        let b = try LiveServers.Background(TestSupport.labelcastBinary, args, log: dir + "/b.log")
        defer { b.stop(SIGKILL) }
        Thread.sleep(forTimeInterval: 1)
        let pub = try LiveServers.Background("ffmpeg", ["-v", "error", "-re", "-i", ts, "-c", "copy", "-f", "mpegts",
                                                       "udp://127.0.0.1:\(port)?pkt_size=1316"], log: dir + "/pub.log")
        defer { pub.stop(SIGKILL) }
        #expect(LiveRTMPTests.waitUntil(20) { !pub.process.isRunning }, "publisher: \(pub.log)")
        // Until B has written what it read (a loaded machine runs it behind): its frame log
        // stops growing for 1.5 s (at most 8 s).
        var size = -1, still = Date()
        _ = LiveRTMPTests.waitUntil(8) {
            let now = (try? FileManager.default.attributesOfItem(atPath: frameLog)[.size] as? Int) ?? 0
            if now != size { size = now; still = Date() }
            return Date().timeIntervalSince(still) > 1.5
        }
        // SIGTERM ends the input; what the hold still keeps is decided and written before the trailer.
        #expect(b.stop(SIGTERM) == 143, "\(b.log)")
        let found = try #require(try AutoHoldTests.events(audit).first { $0["event"] as? String == "marking_found" }, "\(b.log)")
        let rows = try String(contentsOfFile: frameLog, encoding: .utf8).split(separator: "\n").dropFirst().map { $0.split(separator: ",") }
        let latencies = rows.filter { $0.count > 9 && $0[1] == "video" && (Double($0[2]) ?? 99) < 4 }.compactMap { r -> Double? in
            guard let read = Double(r[5]), let written = Double(r[9]) else { return nil }
            return (written - read) / 1e6
        }
        let frames = try LiveRTMPTests.labeledByTime(out)
        return Outcome(frames: frames, found: found, latencies: latencies.sorted())
    }

    static func median(_ v: [Double]) -> Double { v.isEmpty ? .nan : v[v.count / 2] }

    @Test(.timeLimit(.minutes(1)))
    func aMarkSwitchedOnMidStreamIsLabeledFromWhereItIsRead() throws {
        let o = try Self.stream(hold: nil)
        #expect(o.frames.count >= 190, "\(o.frames.count) frames of a 9 s stream (225 sent)")
        let declared = Double(o.found["declared_at"] as? String ?? "") ?? -1
        let from = Double(o.found["media_time"] as? String ?? "") ?? -1
        #expect(abs(declared - 3) <= 0.3, "the upstream mark starts at 3 s of the stream: \(o.found)")
        #expect(from > declared && from <= declared + 4, "\(o.found)")
        #expect((o.found["note"] as? String)?.hasPrefix("already streamed") == true, "\(o.found)")
        guard let t0 = o.frames.first?.pts else { return }
        // Before the mark was read: no label; from shortly after the answered instant: labeled.
        let before = o.frames.filter { $0.pts - t0 < from - 0.1 }, after = o.frames.filter { $0.pts - t0 > from + 0.1 }
        #expect(!before.isEmpty && before.allSatisfy { !$0.labeled }, "unlabeled before \(from) s")
        #expect(!after.isEmpty && after.allSatisfy { $0.labeled }, "labeled after \(from) s: \(after.filter { !$0.labeled }.map(\.pts))")
        print("live auto, no hold: declared \(declared) s, labeled from \(from) s, video latency median \(Self.median(o.latencies)) s, max \(o.latencies.last ?? .nan) s")
    }

    @Test(.timeLimit(.minutes(1)))
    func withAutoHoldTheFirstMarkedFrameIsLabeled() throws {
        let o = try Self.stream(hold: 4)
        #expect(o.frames.count >= 190, "\(o.frames.count) frames of a 9 s stream (225 sent)")
        let declared = Double(o.found["declared_at"] as? String ?? "") ?? -1
        let from = Double(o.found["media_time"] as? String ?? "") ?? -1
        #expect(abs(declared - 3) <= 0.3, "the upstream mark starts at 3 s of the stream: \(o.found)")
        #expect(abs(from - declared) < 0.002, "labeled from the mark's start: \(o.found)")
        #expect((o.found["note"] as? String)?.contains("nothing of it streamed before") == true, "\(o.found)")
        guard let t0 = o.frames.first?.pts, let first = o.frames.first(where: { $0.labeled }) else {
            Issue.record("no labeled frame"); return
        }
        let firstAt = first.pts - t0
        #expect(abs(firstAt - declared) <= 2.5 / 25, "first labeled frame at \(firstAt) s, the mark starts at \(declared) s")
        #expect(o.frames.filter { $0.pts >= first.pts }.allSatisfy { $0.labeled }, "labeled from the first marked frame on")
        // The hold costs its length in latency: frames leave at least about 4 s after they were
        // read (no upper bound here: a loaded machine adds its own seconds).
        let m = Self.median(o.latencies)
        #expect(m >= 3.7, "video read-to-written latency median \(m) s with a 4 s hold")
        print("live auto, hold 4: declared \(declared) s, first labeled frame \(firstAt) s, video latency median \(m) s, max \(o.latencies.last ?? .nan) s")
    }
}
