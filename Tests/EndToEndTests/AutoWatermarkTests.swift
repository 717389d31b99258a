import Foundation
import Testing
import TestSupport

/// `--synthetic auto` over the content itself: an input whose AIGC metadata was stripped on the
/// way, but which still carries the operator's audio watermark, is labeled from the moment the
/// mark is read; unmarked input and a mark of another key are left alone. Pixels where the label
/// goes and ffprobe's tags are the oracle; the audit log says when and by which layer.
@Suite(.serialized) struct AutoWatermarkTests {
    static let tone = "aevalsrc=0.3*sin(2*PI*220*t)+0.2*sin(2*PI*330*t)+0.1*sin(2*PI*1250*t)+0.05*random(0):s=48000"

    @Test(.timeLimit(.minutes(4)))
    func aStrippedButWatermarkedInputIsLabeledFromWhereTheMarkIsRead() throws {
        let dir = try TestSupport.temporaryDirectory("labelcast-auto-mark")
        let key = dir + "/key", other = dir + "/other"
        try "auto key 0123456789".write(toFile: key, atomically: true, encoding: .utf8)
        try "another key 98765432".write(toFile: other, atomically: true, encoding: .utf8)
        let src = dir + "/src.mkv", marked = dir + "/marked.mkv", stripped = dir + "/stripped.mkv"
        try TestSupport.makeMedia(src, seconds: 10, video: "testsrc2=size=320x240:rate=25", audio: Self.tone, extra: ["-c:v", "libx264", "-c:a", "aac"])
        // Upstream: marked from 3 s on, no visible label; then a platform strips the metadata.
        var r = try TestSupport.labelcast(["run", "-i", src, "-o", marked, "--segments", "3-10", "--no-overlay", "--key-file", key, "--payload-id", "0xBEEF", "-q"])
        #expect(r.status == 0, "\(r.stderr)")
        r = try TestSupport.run("ffmpeg", ["-v", "error", "-y", "-i", marked, "-map_metadata", "-1", "-map_chapters", "-1", "-c", "copy", stripped])
        #expect(r.status == 0)
        #expect(try TestSupport.probeFormat(stripped).tags["AIGC"] == nil)

        let out = dir + "/out.mkv", audit = dir + "/audit.jsonl"
        r = try TestSupport.labelcast(["run", "-i", stripped, "-o", out, "--synthetic", "auto", "--key-file", key, "--audit-log", audit])
        #expect(r.status == 0, "\(r.stderr)")
        let events = (try String(contentsOfFile: audit, encoding: .utf8)).split(separator: "\n").compactMap {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }
        let found = try #require(events.first { $0["event"] as? String == "marking_found" }, "\(events)")
        #expect(found["layer"] as? String == "audio watermark")
        let declared = Double(found["declared_at"] as? String ?? found["media_time"] as? String ?? "") ?? -1
        let from = Double(found["media_time"] as? String ?? "") ?? -1
        #expect(abs(declared - 3) <= 0.5, "the mark's range starts at 3 s: \(found)")
        #expect(from >= declared && from <= declared + 4, "labeled within 4 s of the marked start: \(found)")
        #expect((found["evidence"] as? String)?.contains("0x0000BEEF") == true)
        #expect(try TestSupport.probeFormat(out).tags["AIGC"]?.contains("\"Label\":\"1\"") == true)
        // Pixels: the label is there after the mark was read, not before it.
        let a = try TestSupport.lumaFrames(stripped, width: 320, height: 240), b = try TestSupport.lumaFrames(out, width: 320, height: 240)
        #expect(a.count == b.count && b.count >= 240, "\(a.count) / \(b.count)")
        guard b.count >= 240 else { return }
        #expect(VisibleLabelTests.diffRect(a[50], b[50], width: 320) == nil, "no label at 2 s")
        let late = Int((from + 0.5) * 25)
        #expect(VisibleLabelTests.diffRect(a[late], b[late], width: 320) != nil, "label at \(Double(late) / 25) s")
        #expect(VisibleLabelTests.diffRect(a[240], b[240], width: 320) != nil, "label at 9.6 s")

        // Another key's mark, and unmarked input, are not markings.
        for (input, k) in [(stripped, other), (src, key)] {
            let o = dir + "/plain.mkv", au = dir + "/plain.jsonl"
            try? FileManager.default.removeItem(atPath: au)
            r = try TestSupport.labelcast(["run", "-i", input, "-o", o, "--synthetic", "auto", "--key-file", k, "--audit-log", au, "-q"])
            #expect(r.status == 0, "\(r.stderr)")
            #expect(!(try String(contentsOfFile: au, encoding: .utf8)).contains("marking_found"), "\(input) with \(k)")
            #expect(try TestSupport.probeFormat(o).tags["AIGC"] == nil)
        }
    }
}
