import Foundation
import Testing
import TestSupport

/// What labelcast keeps of the input's picture (issue 17, "Geometry and scan" and "Colour"):
/// display rotation (with the label upright in its corner as displayed), interlaced coding and
/// field order, HDR10 metadata and codec, sample aspect ratio, frame rate and time base. Inputs
/// are made with the ffmpeg CLI; ffprobe and ffmpeg's own decode (autorotate, idet) judge.
@Suite(.serialized) struct PictureKeepTests {
    typealias Rect = VisibleLabelTests.Rect

    /// ffprobe's first video stream as JSON (side data included).
    static func videoStream(_ path: String) throws -> [String: Any] {
        let r = try TestSupport.run("ffprobe", ["-v", "error", "-select_streams", "v:0", "-show_streams", "-of", "json", path])
        guard r.status == 0 else { throw TestFailure("ffprobe failed on \(path): \(r.stderr)") }
        let json = try JSONSerialization.jsonObject(with: r.stdout) as? [String: Any] ?? [:]
        return (json["streams"] as? [[String: Any]])?.first ?? [:]
    }

    /// The display rotation ffprobe reports (side data), or nil.
    static func rotation(_ path: String) throws -> Int? {
        let sideData = try videoStream(path)["side_data_list"] as? [[String: Any]] ?? []
        return sideData.compactMap { $0["rotation"] as? Int }.first
    }

    /// Side data of the first `count` decoded video frames, per frame.
    static func frameSideData(_ path: String, count: Int) throws -> [[[String: Any]]] {
        let r = try TestSupport.run("ffprobe", ["-v", "error", "-select_streams", "v:0", "-read_intervals", "%+#\(count)",
                                                 "-show_frames", "-show_entries", "frame=side_data_list", "-of", "json", path])
        guard r.status == 0 else { throw TestFailure("ffprobe failed on \(path): \(r.stderr)") }
        let json = try JSONSerialization.jsonObject(with: r.stdout) as? [String: Any] ?? [:]
        return (json["frames"] as? [[String: Any]] ?? []).map { $0["side_data_list"] as? [[String: Any]] ?? [] }
    }

    // MARK: rotation

    /// A phone video: coded 640×360, shown turned. The output keeps the matrix, and the frame
    /// ffmpeg shows (autorotated) has the label in the requested corner, reading as it reads on
    /// an upright 360×640 (or 640×360) input of the displayed size.
    @Test(.timeLimit(.minutes(3)), arguments: [(90, "top-right"), (-90, "bottom-left"), (180, "top-left")])
    func rotatedInputKeepsItsMatrixAndAnUprightLabel(rotate: Int, position: String) throws {
        let dir = try TestSupport.temporaryDirectory("labelcast-rotation")
        let rotated = dir + "/phone.mp4", upright = dir + "/upright.mp4"
        let swap = rotate != 180
        let (dw, dh) = swap ? (360, 640) : (640, 360)
        let grey = "color=c=0x606060:rate=10"
        // FFmpeg 5.1's CLI turns a `rotate` tag into a display matrix when it copies, not when it encodes.
        try TestSupport.makeMedia(dir + "/coded.mp4", seconds: 1, video: grey + ":size=640x360", audio: nil,
                                  extra: ["-c:v", "libx264", "-crf", "10", "-preset", "ultrafast"])
        let remux = try TestSupport.run("ffmpeg", ["-v", "error", "-y", "-i", dir + "/coded.mp4", "-c", "copy", "-metadata:s:v", "rotate=\(rotate)", rotated])
        #expect(remux.status == 0, "\(remux.stderr)")
        try TestSupport.makeMedia(upright, seconds: 1, video: grey + ":size=\(dw)x\(dh)", audio: nil,
                                  extra: ["-c:v", "libx264", "-crf", "10", "-preset", "ultrafast"])
        let inputRotation = try #require(try Self.rotation(rotated), "ffmpeg made no display matrix")
        var shown: [String: [UInt8]] = [:]
        for (name, input, extra) in [("labeled", rotated, [String]()), ("plain", rotated, ["--no-overlay"]), ("reference", upright, [])] {
            let out = dir + "/\(name).mp4"
            let r = try TestSupport.labelcast(["run", "-i", input, "-o", out, "--crf", "12", "--synthetic", "all",
                                               "--label-position", position, "-q"] + extra)
            #expect(r.status == 0, "\(r.stderr)")
            if input == rotated { #expect(try Self.rotation(out) == inputRotation, "\(name): rotation kept") }
            // ffmpeg's default decode applies the display matrix (autorotate).
            let frames = try TestSupport.lumaFrames(out, width: dw, height: dh)
            #expect(frames.count == 10, "\(name): \(frames.count) frames of \(dw)x\(dh)")
            shown[name] = frames.count > 5 ? frames[5] : []
        }
        let labeled = try #require(shown["labeled"]), plain = try #require(shown["plain"]), reference = try #require(shown["reference"])
        guard labeled.count == dw * dh, plain.count == dw * dh else { return }
        let rect = try #require(VisibleLabelTests.diffRect(labeled, plain, width: dw))
        let refRect = try #require(VisibleLabelTests.diffRect(reference, plain, width: dw))
        // In the requested corner of the displayed picture, the same box as on the upright input.
        let margin = 0.02 * 360.0
        let gapX = position.hasSuffix("right") ? dw - 1 - rect.x1 : rect.x0
        let gapY = position.hasPrefix("bottom") ? dh - 1 - rect.y1 : rect.y0
        #expect(Double(gapX) >= margin * 0.5 && Double(gapX) <= margin * 2, "\(rotate)° \(position): rect \(rect)")
        #expect(Double(gapY) >= margin * 0.5 && Double(gapY) <= margin * 2, "\(rotate)° \(position): rect \(rect)")
        #expect(abs(rect.x0 - refRect.x0) <= 2 && abs(rect.y0 - refRect.y0) <= 2 && abs(rect.width - refRect.width) <= 2
                && abs(rect.height - refRect.height) <= 2, "rect \(rect), upright input's \(refRect)")
        // Upright: the text matches the upright input's pixel for pixel (encoder noise aside),
        // and would not if it were turned (the same box read upside down differs).
        var same = 0.0, turned = 0.0, n = 0.0
        for y in refRect.y0...refRect.y1 {
            for x in refRect.x0...refRect.x1 {
                let ref = Int(reference[y * dw + x])
                same += Double(abs(Int(labeled[y * dw + x]) - ref))
                turned += Double(abs(Int(reference[(refRect.y1 - (y - refRect.y0)) * dw + refRect.x1 - (x - refRect.x0)]) - ref))
                n += 1
            }
        }
        #expect(same / n < 4, "mean difference from the upright label \(same / n)")
        #expect(turned / n > 4 * max(1, same / n), "the label text is not symmetric enough to tell: \(turned / n) vs \(same / n)")
        // Outside the label, nothing changed.
        #expect(VisibleLabelTests.meanDiff(labeled, plain, width: dw, outside: rect) < 1.0)
    }

    // MARK: interlace

    /// 1080i (29.97 frames of two fields, top first) stays interlaced with the same field order.
    @Test(.timeLimit(.minutes(4)))
    func interlacedInputStaysInterlacedTopFieldFirst() throws {
        let dir = try TestSupport.temporaryDirectory("labelcast-interlace")
        let input = dir + "/in.mp4", output = dir + "/out.mp4"
        try TestSupport.makeMedia(input, seconds: 1, video: "testsrc2=size=1920x1080:rate=60000/1001,interlace=scan=tff", audio: nil,
                                  extra: ["-c:v", "libx264", "-preset", "ultrafast", "-flags", "+ildct+ilme", "-top", "1"])
        let before = try Self.videoStream(input)
        #expect(before["field_order"] as? String == "tt", "input: \(before["field_order"] ?? "-")")
        let r = try TestSupport.labelcast(["run", "-i", input, "-o", output, "--synthetic", "all", "-q"])
        #expect(r.status == 0, "\(r.stderr)")
        let after = try Self.videoStream(output)
        #expect(after["field_order"] as? String == before["field_order"] as? String, "output: \(after["field_order"] ?? "-")")
        #expect(after["r_frame_rate"] as? String == before["r_frame_rate"] as? String)
        // Decoded frames are flagged interlaced, top field first.
        let frames = try TestSupport.run("ffprobe", ["-v", "error", "-select_streams", "v:0", "-show_entries", "frame=interlaced_frame,top_field_first",
                                                     "-of", "csv=p=0", output])
        let flags = String(decoding: frames.stdout, as: UTF8.self).split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty }
        #expect(flags.count == 30 && flags.allSatisfy { $0.hasPrefix("1,1") }, "\(flags.prefix(5))")
        // idet, a second oracle that looks at the pixels: mostly top-field-first, not progressive.
        let idet = try TestSupport.run("ffmpeg", ["-v", "info", "-nostats", "-i", output, "-vf", "idet", "-f", "null", "-"])
        let text = idet.stderr
        let line = try #require(text.split(separator: "\n").first { $0.contains("Multi frame detection") }.map(String.init))
        func count(_ key: String) -> Int {
            guard let range = line.range(of: key + ":") else { return -1 }
            let rest = String(line[range.upperBound...]).trimmingCharacters(in: .whitespaces)
            return Int(String(rest.prefix { $0.isNumber })) ?? -1
        }
        #expect(count("TFF") > count("Progressive") && count("TFF") > count("BFF"), "\(line)")
    }

    // MARK: HDR10

    static let masterDisplay = "G(13250,34500)B(7500,3000)R(34000,16000)WP(15635,16450)L(10000000,50)"

    /// An HDR10 HEVC input made with libx265: the output is HEVC 10-bit with the same colour tags,
    /// mastering display and light levels, and its label's white is BT.2408's 203 cd/m² in PQ.
    @Test(.timeLimit(.minutes(4)))
    func hdr10InputStaysHEVCWithItsMetadataAndReferenceWhite() throws {
        let dir = try TestSupport.temporaryDirectory("labelcast-hdr")
        let input = dir + "/hdr.mp4", output = dir + "/out.mp4", plain = dir + "/plain.mp4"
        try TestSupport.makeMedia(input, seconds: 0.8, video: "color=c=0x202020:size=640x360:rate=25", audio: nil, extra: [
            "-pix_fmt", "yuv420p10le", "-c:v", "libx265", "-preset", "ultrafast",
            "-x265-params", "log-level=error:hdr10=1:master-display=\(Self.masterDisplay):max-cll=1000,400",
            "-color_primaries", "bt2020", "-color_trc", "smpte2084", "-colorspace", "bt2020nc"])
        for (out, extra) in [(output, [String]()), (plain, ["--no-overlay"])] {
            let r = try TestSupport.labelcast(["run", "-i", input, "-o", out, "--synthetic", "all", "--crf", "8", "-q"] + extra)
            #expect(r.status == 0, "\(r.stderr)")
        }
        let s = try Self.videoStream(output)
        #expect(s["codec_name"] as? String == "hevc", "codec \(s["codec_name"] ?? "-")")
        #expect(s["pix_fmt"] as? String == "yuv420p10le")
        #expect(s["color_primaries"] as? String == "bt2020" && s["color_transfer"] as? String == "smpte2084"
                && s["color_space"] as? String == "bt2020nc" && s["color_range"] as? String == "tv", "\(s)")
        // The metadata rides in the bitstream (SEI on keyframes), as the decoder sees it.
        let first = try #require(try Self.frameSideData(output, count: 1).first)
        let mastering = try #require(first.first { $0["side_data_type"] as? String == "Mastering display metadata" }, "\(first)")
        #expect(mastering["red_x"] as? String == "34000/50000" && mastering["green_y"] as? String == "34500/50000"
                && mastering["white_point_x"] as? String == "15635/50000", "\(mastering)")
        #expect(mastering["max_luminance"] as? String == "10000000/10000" && mastering["min_luminance"] as? String == "50/10000", "\(mastering)")
        let light = try #require(first.first { $0["side_data_type"] as? String == "Content light level metadata" }, "\(first)")
        #expect(light["max_content"] as? Int == 1000 && light["max_average"] as? Int == 400, "\(light)")

        // Label white: the brightest luma in the label, 10-bit, against PQ(203 cd/m²) in limited range.
        func luma10(_ path: String) throws -> [Int] {
            // The decoder's own format, not gray10le: swscale would stretch limited range to full.
            let r = try TestSupport.run("ffmpeg", ["-v", "error", "-i", path, "-frames:v", "1", "-f", "rawvideo", "-pix_fmt", "yuv420p10le", "-"])
            let b = [UInt8](r.stdout.prefix(640 * 360 * 2))
            return stride(from: 0, to: b.count - 1, by: 2).map { Int(b[$0]) | Int(b[$0 + 1]) << 8 }
        }
        let labeled = try luma10(output), background = try luma10(plain)
        #expect(labeled.count == 640 * 360 && background.count == labeled.count)
        let brightest = zip(labeled, background).filter { abs($0 - $1) > 40 }.map(\.0).max() ?? 0
        let m1 = 2610.0 / 16384, m2 = 2523.0 / 4096 * 128, c1 = 3424.0 / 4096, c2 = 2413.0 / 4096 * 32, c3 = 2392.0 / 4096 * 32
        let y = pow(203.0 / 10000, m1)
        let pq203 = pow((c1 + c2 * y) / (1 + c3 * y), m2)
        let expected = 64 + pq203 * (940 - 64)  // ≈ 573
        #expect(abs(Double(brightest) - expected) <= 12, "label white Y = \(brightest), PQ(203 cd/m²) = \(expected)")
    }

    /// The user's explicit codec stays: `--video-codec libx264` on HDR10 HEVC gives H.264 High 10.
    @Test(.timeLimit(.minutes(3)))
    func explicitCodecIsKeptOnHEVCInput() throws {
        let dir = try TestSupport.temporaryDirectory("labelcast-hdr-x264")
        let input = dir + "/hdr.mkv", output = dir + "/out.mkv"
        try TestSupport.makeMedia(input, seconds: 0.4, video: "testsrc2=size=320x240:rate=25", audio: nil, extra: [
            "-pix_fmt", "yuv420p10le", "-c:v", "libx265", "-preset", "ultrafast", "-x265-params", "log-level=error"])
        let r = try TestSupport.labelcast(["run", "-i", input, "-o", output, "--synthetic", "all", "--video-codec", "libx264", "-q"])
        #expect(r.status == 0, "\(r.stderr)")
        let s = try Self.videoStream(output)
        #expect(s["codec_name"] as? String == "h264" && s["pix_fmt"] as? String == "yuv420p10le", "\(s["codec_name"] ?? "-") \(s["pix_fmt"] ?? "-")")
    }

    // MARK: geometry and timing

    /// Anamorphic PAL (720×576, SAR 64:45, 25 fps) and NTSC-rate (30000/1001) inputs keep their
    /// sample aspect ratio, frame rate and time base.
    @Test(.timeLimit(.minutes(3)), arguments: [("720x576", "25", "64/45", "mp4"), ("640x480", "30000/1001", "1/1", "mp4"),
                                               ("720x480", "30000/1001", "8/9", "ts")])
    func sampleAspectRatioFrameRateAndTimeBaseStay(size: String, rate: String, sar: String, container: String) throws {
        let dir = try TestSupport.temporaryDirectory("labelcast-geometry")
        let input = dir + "/in.\(container)", output = dir + "/out.\(container)"
        try TestSupport.makeMedia(input, seconds: 1, video: "testsrc2=size=\(size):rate=\(rate),setsar=\(sar)", audio: nil,
                                  extra: ["-c:v", "libx264", "-preset", "ultrafast"])
        let r = try TestSupport.labelcast(["run", "-i", input, "-o", output, "--synthetic", "all", "-q"])
        #expect(r.status == 0, "\(r.stderr)")
        let a = try Self.videoStream(input), b = try Self.videoStream(output)
        for key in ["sample_aspect_ratio", "display_aspect_ratio", "r_frame_rate", "avg_frame_rate", "time_base", "width", "height"] {
            #expect("\(a[key] ?? "-")" == "\(b[key] ?? "-")", "\(key): in \(a[key] ?? "-"), out \(b[key] ?? "-")")
        }
        #expect(b["sample_aspect_ratio"] as? String == sar.replacingOccurrences(of: "/", with: ":"))
    }
}
