import Foundation
import Testing
import TestSupport

/// The audit log's `segment_start`/`segment_end` describe synthetic segments, not showings of
/// the label: with the EU profile's interval timing the label is on at the segment's start and
/// at each reminder, off in between, and the audit log said so as one start/end pair per
/// showing (three pairs for one segment here). Pixels confirm the label really was off between
/// reminders, so the single pair is not the label staying on.
@Suite(.serialized) struct AuditSegmentTests {
    /// Pixels of the top-right quarter of a flat grey 320x180 frame that are not grey.
    static func marks(_ f: [UInt8]) -> Int {
        var n = 0
        for y in 0..<90 { for x in 160..<320 where abs(Int(f[y * 320 + x]) - 128) > 40 { n += 1 } }
        return n
    }

    @Test(.timeLimit(.minutes(2)))
    func oneStartAndEndPerSegmentInIntervalMode() throws {
        let dir = try TestSupport.temporaryDirectory("labelcast-audit-interval")
        let input = dir + "/in.mp4", output = dir + "/out.mp4", audit = dir + "/audit.jsonl"
        try TestSupport.makeMedia(input, seconds: 9, video: "color=c=0x808080:size=320x180:rate=25")
        let r = try TestSupport.labelcast(["run", "-i", input, "-o", output, "--segments", "1-7.5", "--label-profile", "eu",
                                           "--label-every", "3", "--label-for", "2", "--no-video-mark", "--audit-log", audit, "-q"])
        #expect(r.status == 0, "\(r.stderr)")

        // The label shows at 1-3, 4-6 and 7-7.5 s and not between.
        let times = try LabelGateTests.frameTimes(output)
        let frames = try TestSupport.lumaFrames(output, width: 320, height: 180)
        #expect(times.count == frames.count && frames.count >= 220, "\(times.count) times, \(frames.count) frames")
        func shown(at t: Double) -> Bool? {
            zip(times, frames).first { abs($0.0 - t) < 0.021 }.map { Self.marks($0.1) > 100 }
        }
        for t in [1.5, 2.8, 4.5, 5.8, 7.2] { #expect(shown(at: t) == true, "no label at \(t) s") }
        for t in [0.5, 3.5, 6.5, 8.5] { #expect(shown(at: t) == false, "label at \(t) s") }

        let events = try String(contentsOfFile: audit, encoding: .utf8).split(whereSeparator: \.isNewline)
            .compactMap { try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        for lane in ["video", "audio"] {
            let starts = events.filter { $0["event"] as? String == "segment_start" && $0["lane"] as? String == lane }
            let ends = events.filter { $0["event"] as? String == "segment_end" && $0["lane"] as? String == lane }
            #expect(starts.count == 1 && ends.count == 1, "\(lane): \(starts.count) segment_start, \(ends.count) segment_end")
            let s = starts.first?["media_time"] as? Double ?? -1, e = ends.first?["media_time"] as? Double ?? -1
            // Audio chunks (1024 samples) straddle the edges by up to 21 ms.
            #expect(abs(s - 1) <= 0.025 && abs(e - 7.5) <= 0.045, "\(lane): segment \(s)-\(e), scheduled 1-7.5")
            #expect(starts.first?["source"] as? String == "schedule", "\(starts)")
        }
    }
}
