import Foundation
import Testing
import TestSupport

/// `--copy-unlabeled`: outside the GOPs a synthetic segment touches, the output's video is the
/// input's, bit for bit. Oracles are the ffmpeg CLI's: `-f framemd5` of the decoded pictures
/// (and of the packets with `-c copy`), its decoder's error output, ffprobe's stream fields;
/// the label is found in decoded pixels.
@Suite struct CopyUnlabeledTests {
    static let width = 480, height = 270

    /// An H.264 clip: 8 s at 25 fps, a GOP every 2 s (IDR at 0, 2, 4, 6 s), tone audio.
    static func makeClip(_ path: String, video extra: [String] = ["-bf", "3"], seconds: Double = 8) throws {
        try TestSupport.makeMedia(path, seconds: seconds, video: "mandelbrot=size=\(width)x\(height):rate=25",
                                  audio: "sine=frequency=660:sample_rate=48000",
                                  extra: ["-c:v", "libx264", "-preset", "veryfast", "-g", "50", "-keyint_min", "50", "-sc_threshold", "0"] + extra + ["-c:a", "aac"])
    }

    /// MD5 per decoded picture (`-f framemd5`), in presentation order.
    static func pictureHashes(_ path: String) throws -> [String] {
        let r = try TestSupport.run("ffmpeg", ["-v", "error", "-i", path, "-map", "0:v:0", "-f", "framemd5", "-"])
        guard r.status == 0 else { throw TestFailure("ffmpeg framemd5 failed on \(path): \(r.stderr)") }
        return r.stdoutText.split(separator: "\n").filter { !$0.hasPrefix("#") }.compactMap { $0.split(separator: ",").last.map { $0.trimmingCharacters(in: .whitespaces) } }
    }

    /// (size, md5) per video packet, as the container stores them.
    static func packetHashes(_ path: String) throws -> [String] {
        let r = try TestSupport.run("ffmpeg", ["-v", "error", "-i", path, "-map", "0:v:0", "-c", "copy", "-f", "framemd5", "-"])
        guard r.status == 0 else { throw TestFailure("ffmpeg framemd5 -c copy failed on \(path): \(r.stderr)") }
        // Size and MD5 only: Matroska and FLV count time in milliseconds.
        return r.stdoutText.split(separator: "\n").filter { !$0.hasPrefix("#") }.map { $0.split(separator: ",").suffix(2).map { $0.trimmingCharacters(in: .whitespaces) }.joined(separator: ",") }
    }

    /// Lines ffmpeg's decoder prints about the video (errors and warnings).
    static func decodeComplaints(_ path: String) throws -> [String] {
        let r = try TestSupport.run("ffmpeg", ["-v", "warning", "-i", path, "-map", "0:v:0", "-f", "null", "-"])
        // (The MPEG-TS demuxer's note on the timed-metadata stream's start is not the video's.)
        return r.errorLines.filter { !$0.contains("estimate_timings_from_pts") }
    }

    /// The largest distance (s) between the latest video DTS and the latest audio DTS written
    /// so far, walking the file's packets in byte order (ffprobe's packet positions).
    static func fileOrderSkew(_ path: String) throws -> Double {
        let r = try TestSupport.run("ffprobe", ["-v", "error", "-show_entries", "packet=codec_type,dts_time,pos", "-of", "csv=p=0", path])
        var rows: [(pos: Int, video: Bool, t: Double)] = []
        for line in r.stdoutText.split(separator: "\n") {
            let f = line.split(separator: ",", omittingEmptySubsequences: false)
            guard f.count >= 3, let t = Double(f[1]), let pos = Int(f[2]), f[0] == "video" || f[0] == "audio" else { continue }
            rows.append((pos, f[0] == "video", t))
        }
        guard rows.contains(where: \.video), rows.contains(where: { !$0.video }) else { throw TestFailure("\(path): no audio and video packets") }
        var v: Double?, a: Double?, worst = 0.0
        for row in rows.sorted(by: { $0.pos < $1.pos }) {
            if row.video { v = row.t } else { a = row.t }
            if let v, let a { worst = max(worst, abs(v - a)) }
        }
        return worst
    }

    static func videoField(_ path: String, _ field: String) throws -> String {
        let r = try TestSupport.run("ffprobe", ["-v", "error", "-select_streams", "v:0", "-show_entries", "stream=\(field)", "-of", "default=nw=1:nk=1", path])
        // MPEG-TS prints a program's copy of the stream first: the first line.
        return r.stdoutText.split(separator: "\n").first.map { String($0).trimmingCharacters(in: .whitespaces) } ?? ""
    }

    /// The run, its frame log's video rows (copied flag per written frame) and its report.
    static func run(_ input: String, _ output: String, segments: String?, copy: [String] = ["--copy-unlabeled"], extra: [String] = []) throws -> (copied: Int, reencoded: Int, stderr: String, copiedCount: Int) {
        let dir = (output as NSString).deletingLastPathComponent
        let log = output + ".frames.csv", metrics = output + ".json"
        let r = try TestSupport.labelcast(["run", "-i", input, "-o", output] + (segments.map { ["--segments", $0] } ?? []) + copy
                                          + ["--frame-log", log, "--metrics-json", metrics] + extra, cwd: dir)
        guard r.status == 0 else { throw TestFailure("labelcast failed: \(r.stderr)") }
        let rows = try String(contentsOfFile: log, encoding: .utf8).split(separator: "\n").dropFirst().map { $0.split(separator: ",") }
        let video = rows.filter { $0[1] == "video" }
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: metrics))) as? [String: Any]
        let lanes = json?["lanes"] as? [[String: Any]] ?? []
        let counts = lanes.first { $0["lane"] as? String == "video" }?["counts"] as? [String: Any]
        return (video.filter { $0.last == "1" }.count, video.filter { $0.last == "0" }.count, r.stderr, counts?["frames_copied"] as? Int ?? -1)
    }

    /// A segment at 3.5-4.5 s touches the GOPs at 2 s and 4 s: pictures 50-149 are re-encoded,
    /// 0-49 and 150-199 are the input's own, in every container labelcast copies into (HLS:
    /// MPEG-TS segments, read back through the playlist).
    @Test(arguments: ["mp4", "mkv", "ts", "flv", "mov", "m3u8"])
    func gopsOutsideTheSegmentAreTheInputsOwn(container: String) throws {
        let dir = try TestSupport.temporaryDirectory()
        let input = dir + "/in.mp4", output = dir + "/out.\(container)"
        try Self.makeClip(input)
        let run = try Self.run(input, output, segments: "3.5-4.5")
        let complaints = try Self.decodeComplaints(output)
        #expect(complaints.isEmpty, "the output does not decode cleanly: \(complaints.prefix(3))")

        let a = try Self.pictureHashes(input), b = try Self.pictureHashes(output)
        #expect(a.count == 200 && b.count == 200, "\(a.count) pictures in, \(b.count) out")
        let same = Set(zip(a, b).enumerated().filter { $0.element.0 == $0.element.1 }.map(\.offset))
        #expect(same == Set(0..<50).union(150..<200), "pictures identical to the input: \(same.count), expected 0-49 and 150-199")
        // The frame log says the same of what was copied (checked against ffmpeg's count above).
        #expect(run.copied == 100 && run.reencoded == 100 && run.copiedCount == 100, "frame log: \(run.copied) copied, \(run.reencoded) re-encoded; report \(run.copiedCount)")
        if container != "ts" && container != "m3u8" {
            // Length-prefixed containers: the very packets of the input (TS, and HLS's TS
            // segments, get its SPS/PPS in-band).
            let pa = try Self.packetHashes(input), pb = try Self.packetHashes(output)
            let copiedPackets = Set(pb).intersection(pa).count
            #expect(copiedPackets == 100, "\(copiedPackets) packets byte-identical to the input's")
        }
        #expect(try Self.videoField(output, "profile") == Self.videoField(input, "profile"))

        // The label is on the synthetic pictures (3.5-4.5 s = 88-112), and only there (the
        // label's minimum display keeps it a little past the end: 140 = 5.6 s is clear).
        let fin = try TestSupport.lumaFrames(input, width: Self.width, height: Self.height)
        let fout = try TestSupport.lumaFrames(output, width: Self.width, height: Self.height)
        func inked(_ i: Int) -> Int { zip(fin[i], fout[i]).filter { abs(Int($0) - Int($1)) > 100 }.count }
        for i in [90, 100, 110] { #expect(inked(i) > 300, "no label on picture \(i): \(inked(i)) changed pixels") }
        for i in [60, 80, 140] {
            // Re-encoded but not synthetic: no label, only coding noise.
            #expect(inked(i) == 0, "picture \(i) carries ink: \(inked(i)) pixels")
            #expect(VisibleLabelTests.meanDiff(fin[i], fout[i], width: Self.width, outside: nil) < 4, "picture \(i) changed beyond coding noise")
        }
    }

    /// Profiles and entropy coders a decoder must switch between at the joins (baseline CAVLC,
    /// main, high 10-bit), an MPEG-TS input (Annex B, parameter sets in-band), and a 10 s GOP.
    @Test(arguments: [
        (["-profile:v", "baseline", "-coder", "0"], "mp4", "mp4", 8.0, "3.5-4.5", 50..<150),
        (["-profile:v", "main", "-bf", "2"], "ts", "mp4", 8.0, "3.5-4.5", 50..<150),
        (["-profile:v", "high10", "-pix_fmt", "yuv420p10le"], "mp4", "ts", 8.0, "3.5-4.5", 50..<150),
        (["-g", "250", "-keyint_min", "250"], "mp4", "mkv", 12.0, "3-4", 0..<250),
    ] as [([String], String, String, Double, String, Range<Int>)])
    func joinsDecodeCleanly(video: [String], inputContainer: String, outputContainer: String, seconds: Double, segments: String,
                            reencoded: Range<Int>) throws {
        let dir = try TestSupport.temporaryDirectory()
        let input = dir + "/in.\(inputContainer)", output = dir + "/out.\(outputContainer)"
        try Self.makeClip(input, video: video, seconds: seconds)
        _ = try Self.run(input, output, segments: segments)
        let complaints = try Self.decodeComplaints(output)
        #expect(complaints.isEmpty, "\(complaints.prefix(3))")
        let a = try Self.pictureHashes(input), b = try Self.pictureHashes(output)
        #expect(a.count == b.count && !a.isEmpty)
        let differing = Set(zip(a, b).enumerated().filter { $0.element.0 != $0.element.1 }.map(\.offset))
        #expect(differing == Set(reencoded), "pictures re-encoded: \(differing.min() ?? -1)...\(differing.max() ?? -1) (\(differing.count)), expected \(reencoded)")
        #expect(try Self.videoField(output, "pix_fmt") == Self.videoField(input, "pix_fmt"))
    }

    /// Copying is the default; `--transcode` re-encodes every picture; encoder options for every
    /// frame (`--crf`, `--gop`) and a whole-synthetic run turn the default copy off with an info
    /// line (shown with -v), and `--copy-unlabeled` copies in spite of them. The oracle is ffmpeg's framemd5 of
    /// input and output (which pictures are the input's own), next to the frame log.
    @Test func copyingIsTheDefaultAndTranscodeCopiesNothing() throws {
        let dir = try TestSupport.temporaryDirectory()
        let input = dir + "/in.mp4"
        try Self.makeClip(input)
        let a = try Self.pictureHashes(input)
        func identical(_ output: String) throws -> Set<Int> {
            let b = try Self.pictureHashes(output)
            #expect(a.count == b.count)
            return Set(zip(a, b).enumerated().filter { $0.element.0 == $0.element.1 }.map(\.offset))
        }
        let own = Set(0..<50).union(150..<200)

        let d = try Self.run(input, dir + "/default.mp4", segments: "3.5-4.5", copy: [], extra: ["-v"])
        #expect(try identical(dir + "/default.mp4") == own)
        #expect(d.copied == 100 && d.copiedCount == 100, "\(d.copied) \(d.copiedCount)")
        #expect(d.stderr.contains("copying unlabeled video (--transcode re-encodes all)"), "\(d.stderr)")

        let t = try Self.run(input, dir + "/transcode.mp4", segments: "3.5-4.5", copy: ["--transcode"], extra: ["-v"])
        #expect(try identical(dir + "/transcode.mp4").isEmpty)
        #expect(t.copied == 0 && t.copiedCount == 0 && !t.stderr.contains("copying"), "\(t.stderr)")

        for (flags, why) in [(["--crf", "20"], "--crf sets the encoder for every frame"), (["--gop", "1"], "--gop sets the encoder for every frame")] {
            let o = dir + "/opt\(flags[0]).mp4"
            let r = try Self.run(input, o, segments: "3.5-4.5", copy: [], extra: flags + ["-v"])
            #expect(try identical(o).isEmpty, "\(flags)")
            #expect(r.copied == 0 && r.stderr.contains(why), "\(r.stderr)")
        }
        let forced = try Self.run(input, dir + "/forced.mp4", segments: "3.5-4.5", extra: ["--crf", "20"])
        #expect(try identical(dir + "/forced.mp4") == own)
        #expect(forced.copied == 100)

        let all = try Self.run(input, dir + "/all.mp4", segments: nil, copy: [], extra: ["--synthetic", "all", "-v"])
        #expect(all.copied == 0 && all.stderr.contains("--synthetic all without --listen: every frame is synthetic"), "\(all.stderr)")

        // The bytes interleave audio and video closely although the copied video runs ahead of
        // the audio lane and the re-encoded GOP behind it (ffprobe's packet positions, in file
        // order: before the mux stage ordered the lanes, audio sat 6-8 s ahead of video in TS).
        _ = try Self.run(input, dir + "/default.ts", segments: "3.5-4.5", copy: [])
        let skew = try Self.fileOrderSkew(dir + "/default.ts")
        #expect(skew < 0.6, "audio and video \(skew) s apart in file order")

        // Nothing synthetic: every picture is the input's (a remux of the video).
        _ = try Self.run(input, dir + "/none.mp4", segments: nil, copy: [])
        #expect(try identical(dir + "/none.mp4") == Set(0..<200))
    }

    /// What it cannot copy it re-encodes whole, saying why: an MPEG-4 Part 2 input, and an
    /// open-GOP input whose only IDR is the first picture (its other keyframes are recovery points).
    @Test func fallsBackWithANotice() throws {
        let dir = try TestSupport.temporaryDirectory()
        let other = dir + "/in-mpeg4.mp4"
        try TestSupport.makeMedia(other, seconds: 3, video: "mandelbrot=size=320x180:rate=25", audio: nil,
                                  extra: ["-c:v", "mpeg4"])
        let h = try Self.run(other, dir + "/out-mpeg4.mp4", segments: "1-2")
        #expect(h.stderr.contains("--copy-unlabeled does not apply (the input's video is mpeg4 (H.264 and HEVC only)"), "\(h.stderr)")
        #expect(h.copied == 0 && h.copiedCount == 0)

        let open = dir + "/in-open.mp4"
        try Self.makeClip(open, video: ["-x264-params", "open-gop=1"], seconds: 6)
        let o = try Self.run(open, dir + "/out-open.mp4", segments: "4-5")
        #expect(o.stderr.contains("keyframes that are not IDR pictures"), "\(o.stderr)")
        #expect(o.copied == 0, "\(o.copied) pictures copied from an input with one IDR")
        #expect(try Self.decodeComplaints(dir + "/out-open.mp4").isEmpty)
    }
}
