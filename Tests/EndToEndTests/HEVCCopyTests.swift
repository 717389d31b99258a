import Foundation
import Testing
import TestSupport

/// `--copy-unlabeled` on HEVC files: outside the GOPs a synthetic segment touches, the
/// output's pictures are the input's, bit for bit, and the joins decode without a complaint
/// although the re-encoded stretches' VPS/SPS/PPS (x265: always id 0) redefine the input's
/// at every join. Oracles are the ffmpeg CLI's: `-f framemd5` of the decoded pictures, its
/// decoder's warnings, ffprobe's stream fields; the label is found in decoded pixels.
@Suite struct HEVCCopyTests {
    static let width = 320, height = 180

    /// An HEVC clip: 6 s at 25 fps, an IDR every second (0, 1, … 5 s), closed GOPs, tone audio.
    /// Coding tools unlike labelcast's x265 (no SAO, no WPP, transform skip…), so its SPS/PPS
    /// differ where slices depend on them: a copied IDR decoded with the re-encoded stretch's
    /// parameter sets (no in-band VPS/SPS/PPS at the join) fails to parse.
    static func makeClip(_ path: String, bframes: Int, pixelFormat: String = "yuv420p") throws {
        let params = "log-level=error:bframes=\(bframes):keyint=25:min-keyint=25:scenecut=0:open-gop=0"
            + ":sao=0:wpp=0:strong-intra-smoothing=0:signhide=0:tskip=1:amp=1"
        try TestSupport.makeMedia(path, seconds: 6, video: "mandelbrot=size=\(width)x\(height):rate=25",
                                  audio: "sine=frequency=660:sample_rate=48000",
                                  extra: ["-c:v", "libx265", "-preset", "veryfast", "-x265-params", params, "-pix_fmt", pixelFormat, "-c:a", "aac"])
    }

    /// A segment at 2.5-3.5 s touches the GOPs at 2 s and 3 s: pictures 50-99 are re-encoded,
    /// 0-49 and 100-149 are the input's own, with and without B-frames in the input, in MP4
    /// (`hev1`), Matroska and MPEG-TS, 8-bit Main and 10-bit Main 10.
    @Test(arguments: [
        (0, "mp4", "yuv420p"), (0, "mkv", "yuv420p"), (0, "ts", "yuv420p"),
        (3, "mp4", "yuv420p"), (3, "ts", "yuv420p"), (3, "mkv", "yuv420p10le"),
    ] as [(Int, String, String)])
    func gopsOutsideTheSegmentAreTheInputsOwn(bframes: Int, container: String, pixelFormat: String) throws {
        let dir = try TestSupport.temporaryDirectory()
        let input = dir + "/in.mp4", output = dir + "/out.\(container)"
        try Self.makeClip(input, bframes: bframes, pixelFormat: pixelFormat)
        let run = try CopyUnlabeledTests.run(input, output, segments: "2.5-3.5")
        #expect(!run.stderr.contains("does not apply"), "\(run.stderr)")
        let complaints = try CopyUnlabeledTests.decodeComplaints(output)
        #expect(complaints.isEmpty, "the output does not decode cleanly: \(complaints.prefix(3))")

        let a = try CopyUnlabeledTests.pictureHashes(input), b = try CopyUnlabeledTests.pictureHashes(output)
        #expect(a.count == 150 && b.count == 150, "\(a.count) pictures in, \(b.count) out")
        let same = Set(zip(a, b).enumerated().filter { $0.element.0 == $0.element.1 }.map(\.offset))
        #expect(same == Set(0..<50).union(100..<150), "pictures identical to the input: \(same.count), expected 0-49 and 100-149")
        // The frame log and the report count as copied exactly what ffmpeg finds identical.
        #expect(run.copied == same.count && run.copiedCount == same.count && run.reencoded == 150 - same.count,
                "frame log: \(run.copied) copied, \(run.reencoded) re-encoded; report \(run.copiedCount); identical \(same.count)")
        for field in ["codec_name", "profile", "pix_fmt", "width", "height"] {
            #expect(try CopyUnlabeledTests.videoField(output, field) == CopyUnlabeledTests.videoField(input, field), "\(field)")
        }
        if container == "mp4" { #expect(try CopyUnlabeledTests.videoField(output, "codec_tag_string") == "hev1") }

        // The label is on the synthetic pictures (2.5-3.5 s = 62-87), not on the re-encoded
        // pictures before the segment.
        let fin = try TestSupport.lumaFrames(input, width: Self.width, height: Self.height)
        let fout = try TestSupport.lumaFrames(output, width: Self.width, height: Self.height)
        func inked(_ i: Int) -> Int { zip(fin[i], fout[i]).filter { abs(Int($0) - Int($1)) > 100 }.count }
        for i in [65, 75, 85] { #expect(inked(i) > 150, "no label on picture \(i): \(inked(i)) changed pixels") }
        for i in [52, 60] {
            #expect(inked(i) == 0, "picture \(i) carries ink: \(inked(i)) pixels")
            #expect(VisibleLabelTests.meanDiff(fin[i], fout[i], width: Self.width, outside: nil) < 4, "picture \(i) changed beyond coding noise")
        }
    }

    /// An MPEG-TS input (Annex B, the parameter sets in-band and read from the stream) copies
    /// into MP4 (length-prefixed, `hvcC` built from them).
    @Test func annexBInputIntoMP4() throws {
        let dir = try TestSupport.temporaryDirectory()
        let input = dir + "/in.ts", output = dir + "/out.mp4"
        try Self.makeClip(input, bframes: 0)
        let run = try CopyUnlabeledTests.run(input, output, segments: "2.5-3.5")
        #expect(!run.stderr.contains("does not apply"), "\(run.stderr)")
        #expect(try CopyUnlabeledTests.decodeComplaints(output).isEmpty)
        let a = try CopyUnlabeledTests.pictureHashes(input), b = try CopyUnlabeledTests.pictureHashes(output)
        let same = zip(a, b).filter { $0 == $1 }.count
        #expect(a.count == b.count && same == 100 && run.copied == 100, "\(same) identical of \(b.count), \(run.copied) copied")
    }
}

/// Per-picture copying (the live path: `--realtime` paces a file as a live input and copies
/// picture by picture) on an HEVC input without B-frames: copied up to the first synthetic
/// picture, re-encoded from it (the encoder opens on it with an IDR) to the next input IDR
/// after the segment, copied again from there. Runs on a clock (6 s): serial.
@Suite(.serialized) struct HEVCRealtimeCopyTests {
    @Test(arguments: ["mp4", "ts"])
    func copiesPictureByPicture(container: String) throws {
        let dir = try TestSupport.temporaryDirectory()
        let input = dir + "/in.mp4", output = dir + "/out.\(container)"
        try HEVCCopyTests.makeClip(input, bframes: 0)
        let run = try CopyUnlabeledTests.run(input, output, segments: "2.5-3.5", extra: ["--realtime"])
        #expect(!run.stderr.contains("does not apply") && !run.stderr.contains("stops"), "\(run.stderr)")
        let complaints = try CopyUnlabeledTests.decodeComplaints(output)
        #expect(complaints.isEmpty, "the output does not decode cleanly: \(complaints.prefix(3))")
        let a = try CopyUnlabeledTests.pictureHashes(input), b = try CopyUnlabeledTests.pictureHashes(output)
        #expect(a.count == 150 && b.count == 150, "\(a.count) pictures in, \(b.count) out")
        let same = Set(zip(a, b).enumerated().filter { $0.element.0 == $0.element.1 }.map(\.offset))
        // Picture 63 (2.52 s) is the first at or after 2.5 s; the IDR after the segment is at 4 s.
        #expect(same == Set(0..<63).union(100..<150), "identical: \(same.count), first differing \(Set(0..<150).subtracting(same).min() ?? -1)")
        #expect(run.copied == same.count && run.copiedCount == same.count, "frame log \(run.copied), report \(run.copiedCount), identical \(same.count)")
    }
}
