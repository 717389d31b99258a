import Foundation
import Testing
import TestSupport

/// `--auto-hold S`: with the lanes holding S seconds, content found by the operator's watermark
/// is labeled from its first marked frame, not from where the detector had read enough of it.
/// The upstream labelcast marks the sound from 3 s on (no visible label), the metadata is
/// stripped; the pixels of the recording where the label goes are the oracle, the audit log
/// must say nothing marked went out before. File-only (no servers, no clocks).
@Suite(.serialized) struct AutoHoldTests {
    static let rate = 25.0

    /// A 9 s 320x240 clip whose audio carries the operator's mark from `markFrom` s on, with its
    /// AIGC metadata and chapters stripped (as a platform's remux would). Returns (key, stripped).
    static func markedInput(dir: String, markFrom: Double = 3, video: String = "testsrc2=size=320x240:rate=25",
                            format: String = "mkv") throws -> (key: String, stripped: String) {
        let key = dir + "/key"
        try "auto key 0123456789".write(toFile: key, atomically: true, encoding: .utf8)
        let src = dir + "/src.mkv", marked = dir + "/marked.mkv", stripped = dir + "/stripped.\(format)"
        try TestSupport.makeMedia(src, seconds: 9, video: video, audio: AutoWatermarkTests.tone,
                                  extra: ["-c:v", "libx264", "-g", "25", "-c:a", "aac"])
        var r = try TestSupport.labelcast(["run", "-i", src, "-o", marked, "--segments", "\(markFrom)-9", "--no-overlay", "--key-file", key,
                                           "--payload-id", "0xBEEF", "-q"])
        guard r.status == 0 else { throw TestFailure("upstream run: \(r.stderr)") }
        r = try TestSupport.run("ffmpeg", ["-v", "error", "-y", "-i", marked, "-map_metadata", "-1", "-map_chapters", "-1", "-c", "copy", stripped])
        guard r.status == 0 else { throw TestFailure("strip: \(r.stderr)") }
        return (key, stripped)
    }

    static func events(_ audit: String) throws -> [[String: Any]] {
        try String(contentsOfFile: audit, encoding: .utf8).split(separator: "\n").compactMap {
            try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }
    }

    /// Index of the first frame of `b` that differs from `a` where a label would (nil: none),
    /// and whether every frame after it differs too.
    static func firstLabeled(_ a: [[UInt8]], _ b: [[UInt8]], width: Int) -> (first: Int?, allAfter: Bool) {
        let n = min(a.count, b.count)
        guard let first = (0..<n).first(where: { VisibleLabelTests.diffRect(a[$0], b[$0], width: width) != nil }) else { return (nil, false) }
        return (first, (first..<n).allSatisfy { VisibleLabelTests.diffRect(a[$0], b[$0], width: width) != nil })
    }

    @Test(.timeLimit(.minutes(3)))
    func withTheHoldTheFirstMarkedFrameIsLabeled() throws {
        let dir = try TestSupport.temporaryDirectory("labelcast-auto-hold")
        let (key, stripped) = try Self.markedInput(dir: dir)
        let out = dir + "/held.mkv", audit = dir + "/held.jsonl"
        let r = try TestSupport.labelcast(["run", "-i", stripped, "-o", out, "--synthetic", "auto", "--auto-hold", "4",
                                           "--key-file", key, "--audit-log", audit, "-q"])
        #expect(r.status == 0, "\(r.stderr)")
        let found = try #require(try Self.events(audit).first { $0["event"] as? String == "marking_found" })
        let declared = Double(found["declared_at"] as? String ?? "") ?? -1
        let from = Double(found["media_time"] as? String ?? "") ?? -1
        #expect(abs(declared - 3) <= 0.1, "the mark starts at 3 s: \(found)")
        #expect(abs(from - declared) < 0.002, "labeled from the mark's start: \(found)")
        #expect((found["note"] as? String)?.contains("nothing of it streamed before") == true, "\(found)")
        #expect(found["hold"] as? String == "4")
        #expect(try TestSupport.probeFormat(out).tags["AIGC"]?.contains("\"Label\":\"1\"") == true)

        // Pixels: first labeled frame within a frame or two of 3.0 s (frame 75), and every one after.
        let a = try TestSupport.lumaFrames(stripped, width: 320, height: 240), b = try TestSupport.lumaFrames(out, width: 320, height: 240)
        #expect(a.count == b.count && b.count >= 220, "\(a.count) / \(b.count)")
        let (first, allAfter) = Self.firstLabeled(a, b, width: 320)
        let f = try #require(first, "no labeled frame")
        #expect((74...77).contains(f), "first labeled frame \(f) (\(Double(f) / Self.rate) s), the mark starts at frame 75")
        #expect(allAfter, "every frame from \(f) on carries the label")

        // Without the hold (same input): labeled only from where the mark was read, the audit says so.
        let plain = dir + "/plain.mkv", plainAudit = dir + "/plain.jsonl"
        let r2 = try TestSupport.labelcast(["run", "-i", stripped, "-o", plain, "--synthetic", "auto", "--key-file", key, "--audit-log", plainAudit, "-q"])
        #expect(r2.status == 0, "\(r2.stderr)")
        let late = try #require(try Self.events(plainAudit).first { $0["event"] as? String == "marking_found" })
        #expect((late["note"] as? String)?.hasPrefix("already streamed") == true, "\(late)")
        let c = try TestSupport.lumaFrames(plain, width: 320, height: 240)
        let lateFirst = try #require(Self.firstLabeled(a, c, width: 320).first)
        #expect(lateFirst > f + 25, "without the hold the label starts later (\(lateFirst) vs \(f))")
    }

    @Test func outOfRangeOrMisplacedHoldsAreRefused() throws {
        let dir = try TestSupport.temporaryDirectory("labelcast-auto-hold-bad")
        let input = dir + "/in.mkv"
        try TestSupport.makeMedia(input, seconds: 1, video: "testsrc2=size=160x120:rate=10", audio: nil)
        for (args, words) in [(["--synthetic", "auto", "--auto-hold", "11"], "out of range"),
                              (["--synthetic", "auto", "--auto-hold", "-1"], "out of range"),
                              (["--synthetic", "auto", "--auto-hold", "nan"], "out of range"),
                              (["--synthetic", "all", "--auto-hold", "3"], "--synthetic auto"),
                              (["--synthetic", "auto", "--segments", "0-1", "--auto-hold", "3"], "without a schedule")] {
            let out = dir + "/out.mkv"
            let r = try TestSupport.labelcast(["run", "-i", input, "-o", out] + args)
            // A usage error, as every option's (64: "2 or more" by the CLI's contract).
            #expect(r.status == 64, "\(args): \(r.status) \(r.stderr)")
            let lines = r.stderr.split(separator: "\n")
            #expect(lines.count == 1 && r.stderr.contains("--auto-hold") && r.stderr.contains(words), "\(args): \(r.stderr)")
            #expect(!FileManager.default.fileExists(atPath: out))
        }
    }
}
