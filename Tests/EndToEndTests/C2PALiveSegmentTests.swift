import Foundation
import Testing
import TestSupport

/// Segmented C2PA while the run is still writing (issue 19, live part): a `--realtime` run
/// re-signs its init segment after each media segment, off the mux queue, so a copy of the
/// init segment taken mid-run validates the segments written before it. Clock-based (runs at
/// real time): kept out of the parallel file-only groups.
@Suite(.serialized) struct C2PALiveSegmentTests {
    @Test(.timeLimit(.minutes(2)))
    func aMidRunCopyOfTheInitSegmentValidatesTheSegmentsWrittenSoFar() throws {
        let pki = try C2PATests.makePKI()
        let dir = try TestSupport.temporaryDirectory("labelcast-c2pa-live")
        try C2PATests.makeInput(dir + "/in.mp4", seconds: 6)
        try FileManager.default.createDirectory(atPath: dir + "/out", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: dir + "/snap", withIntermediateDirectories: true)
        let lc = try LiveServers.Background(TestSupport.labelcastBinary, [
            "run", "--realtime", "-i", dir + "/in.mp4", "-o", dir + "/out/live.m3u8", "--synthetic", "all",
            "--muxer-opt", "hls_segment_type=fmp4", "--muxer-opt", "hls_time=1", "--gop", "1",
            "--c2pa-cert", pki.chain, "--c2pa-key", pki.key, "--metrics-json", dir + "/metrics.json",
        ], log: dir + "/labelcast.log", environment: ["LABELCAST_C2PA_LIB": try C2PATests.c2paPython() + "/c2pa/libs/libc2pa_c.so"])
        defer { lc.stop(SIGKILL) }
        func segments() -> [String] {
            ((try? FileManager.default.contentsOfDirectory(atPath: dir + "/out")) ?? []).filter { $0.hasSuffix(".m4s") }
                .sorted { Int($0.dropFirst(4).dropLast(4)) ?? 0 < Int($1.dropFirst(4).dropLast(4)) ?? 0 }
        }
        #expect(LiveRTMPTests.waitUntil(20) { segments().count >= 3 }, "\(lc.log)")
        // The segments first, then (after the re-signing had a moment) the init segment.
        let taken = segments()
        for s in taken { try FileManager.default.copyItem(atPath: dir + "/out/" + s, toPath: dir + "/snap/" + s) }
        Thread.sleep(forTimeInterval: 1.0)
        try FileManager.default.copyItem(atPath: dir + "/out/live_init.mp4", toPath: dir + "/snap/live_init.mp4")
        #expect(lc.process.isRunning, "the run ended before the mid-run copy: \(lc.log)")
        let mid = try C2PASegmentedTests.verify(initSegment: dir + "/snap/live_init.mp4", fragments: taken.map { dir + "/snap/" + $0 }, trust: pki.root)
        let trusted = mid.prefix { $0.state == "Trusted" }.count
        // All but possibly the newest (signed after the copy) validate, and only a tail fails.
        #expect(trusted >= max(2, taken.count - 1), "mid-run: \(mid.map { ($0.fragment, $0.state, $0.failure) })")
        #expect(mid.dropFirst(trusted).allSatisfy { $0.failure.contains("assertion.bmffHash.mismatch") }, "\(mid.map(\.failure))")

        lc.process.waitUntilExit()
        #expect(lc.process.terminationStatus == 0, "\(lc.log)")
        let all = segments()
        #expect(all.count > taken.count)
        for v in try C2PASegmentedTests.verify(initSegment: dir + "/out/live_init.mp4", fragments: all.map { dir + "/out/" + $0 }, trust: pki.root) {
            #expect(v.state == "Trusted" && v.failure.isEmpty, "\(v.fragment): \(v.state) \(v.failure)")
        }
        let metrics = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir + "/metrics.json"))) as? [String: Any])
        let c2pa = try #require(metrics["c2pa"] as? [String: Any], "\(metrics.keys)")
        #expect(c2pa["mode"] as? String == "segmented" && (c2pa["live_resignings"] as? Int ?? 0) >= 2, "\(c2pa)")
    }

    /// Switched synthetic mid-run through the control API: the AIGC marking rewrites the init
    /// segment (tag added after it was written), and the signed init segment is that copy.
    @Test(.timeLimit(.minutes(2)))
    func aLiveSwitchKeepsTheInitSegmentsTagAndEverySegmentValidates() throws {
        let pki = try C2PATests.makePKI()
        let dir = try TestSupport.temporaryDirectory("labelcast-c2pa-switch")
        try C2PATests.makeInput(dir + "/in.mp4", seconds: 4)
        _ = try LiveMarkingTests.runSwitched(dir, input: dir + "/in.mp4", output: dir + "/sw.m3u8", extra: [
            "--muxer-opt", "hls_segment_type=fmp4", "--muxer-opt", "hls_time=1", "--gop", "1", "--c2pa-cert", pki.chain, "--c2pa-key", pki.key,
        ])
        let tags = try ProvenanceTests.probe(dir + "/sw_init.mp4").tags
        #expect(tags["AIGC"]?.hasPrefix("{\"AIGC\":{\"Label\":\"1\"") == true, "init tags: \(tags)")
        let segments = try C2PASegmentedTests.listed(dir + "/sw.m3u8").map { dir + "/" + $0 }
        #expect(segments.count >= 3)
        for v in try C2PASegmentedTests.verify(initSegment: dir + "/sw_init.mp4", fragments: segments, trust: pki.root) {
            #expect(v.state == "Trusted" && v.failure.isEmpty, "\(v.fragment): \(v.state) \(v.failure)")
            #expect(v.actions.contains { $0.first == "c2pa.edited" }, "\(v.fragment): \(v.actions)")
        }
    }
}
