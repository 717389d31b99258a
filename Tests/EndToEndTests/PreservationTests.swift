import Foundation
import Testing
import TestSupport

/// What labelcast does not need to change, it keeps: every audio track (each one marked),
/// subtitles (converted where the output has its own text codec), attachments, cover art,
/// stream tags and dispositions, container tags, the input's chapters, MPEG-TS programs; what
/// the output cannot take is named in one notice. Inputs made with the ffmpeg CLI; ffprobe
/// and ffmpeg read the outputs.
@Suite(.serialized) struct PreservationTests {
    static let font = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
    static let srt = "1\n00:00:00,500 --> 00:00:01,500\nHello one\n\n2\n00:00:02,000 --> 00:00:03,000\nHello two\n"
    static let meta = ";FFMETADATA1\ntitle=My Film\nartist=Someone\ncomment=keep me\n[CHAPTER]\nTIMEBASE=1/1000\nSTART=0\nEND=1500\ntitle=Intro\n[CHAPTER]\nTIMEBASE=1/1000\nSTART=1500\nEND=8000\ntitle=Main\n"

    /// A Matroska file with two audio tracks (eng; fra "Commentary", comment disposition), a
    /// German SubRip track, a font attachment, container tags and two chapters.
    static func richMatroska(_ dir: String) throws -> String {
        try srt.write(toFile: dir + "/s.srt", atomically: true, encoding: .utf8)
        try meta.write(toFile: dir + "/meta.txt", atomically: true, encoding: .utf8)
        let path = dir + "/in.mkv"
        let r = try TestSupport.run("ffmpeg", ["-v", "error", "-y", "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25",
            "-f", "lavfi", "-i", "aevalsrc=0.3*sin(2*PI*220*t)+0.2*sin(2*PI*330*t)+0.1*sin(2*PI*1250*t)+0.05*random(0):s=48000",
            "-f", "lavfi", "-i", "aevalsrc=0.3*sin(2*PI*196*t)+0.2*sin(2*PI*294*t)+0.1*sin(2*PI*1100*t)+0.05*random(1):s=44100",
            "-i", dir + "/s.srt", "-i", dir + "/meta.txt", "-t", "8", "-map", "0:v", "-map", "1:a", "-map", "2:a", "-map", "3",
            "-map_metadata", "4", "-map_chapters", "4", "-c:v", "libx264", "-pix_fmt", "yuv420p", "-c:a", "aac", "-c:s", "srt",
            "-metadata:s:a:0", "language=eng", "-metadata:s:a:1", "language=fra", "-metadata:s:a:1", "title=Commentary",
            "-disposition:a:1", "comment", "-metadata:s:s:0", "language=deu",
            "-attach", font, "-metadata:s:t", "mimetype=application/x-truetype-font", path])
        guard r.status == 0 else { throw TestFailure("ffmpeg: \(r.stderr)") }
        return path
    }

    struct Stream { let type: String; let codec: String; let tags: [String: String]; let disposition: [String: Int]; let startTime: Double }
    static func streams(_ path: String) throws -> [Stream] {
        let r = try TestSupport.run("ffprobe", ["-v", "error", "-show_streams", "-of", "json", path])
        let json = try JSONSerialization.jsonObject(with: r.stdout) as? [String: Any] ?? [:]
        return (json["streams"] as? [[String: Any]] ?? []).map {
            Stream(type: $0["codec_type"] as? String ?? "", codec: $0["codec_name"] as? String ?? "", tags: $0["tags"] as? [String: String] ?? [:],
                   disposition: $0["disposition"] as? [String: Int] ?? [:], startTime: Double($0["start_time"] as? String ?? "") ?? .nan)
        }
    }
    static func chapters(_ path: String) throws -> [(start: Double, end: Double, title: String)] {
        let r = try TestSupport.run("ffprobe", ["-v", "error", "-show_chapters", "-of", "json", path])
        let json = try JSONSerialization.jsonObject(with: r.stdout) as? [String: Any] ?? [:]
        return (json["chapters"] as? [[String: Any]] ?? []).map {
            (Double($0["start_time"] as? String ?? "") ?? -1, Double($0["end_time"] as? String ?? "") ?? -1, ($0["tags"] as? [String: String])?["title"] ?? "")
        }
    }
    /// Subtitle events as SubRip text, by ffmpeg.
    static func subtitles(_ path: String) throws -> String {
        try TestSupport.run("ffmpeg", ["-v", "error", "-i", path, "-map", "0:s:0", "-f", "srt", "-"]).stdoutText
    }
    /// Seconds of each SubRip event start.
    static func cueStarts(_ srt: String) -> [Double] {
        srt.split(separator: "\n").filter { $0.contains("-->") }.map { line in
            let t = line.split(separator: " ")[0].replacingOccurrences(of: ",", with: ".").split(separator: ":").compactMap { Double($0) }
            return t[0] * 3600 + t[1] * 60 + t[2]
        }
    }
    /// The first video packet's pts (s): cues are compared against the picture.
    static func firstVideoTime(_ path: String) throws -> Double {
        let r = try TestSupport.run("ffprobe", ["-v", "error", "-select_streams", "v:0", "-show_entries", "frame=pts_time", "-of", "csv=p=0", "-read_intervals", "%+#1", path])
        let first = r.stdoutText.split(separator: "\n").first.map { $0.split(separator: ",").first.map(String.init) ?? "" } ?? ""
        return Double(first.trimmingCharacters(in: .whitespaces)) ?? .nan
    }

    struct Found: Decodable { struct Segment: Decodable { let start: Double; let end: Double; let payload: String? }; let segments: [Segment] }

    @Test(.timeLimit(.minutes(4)))
    func matroskaKeepsEveryTrackAndWhatItCarries() throws {
        let dir = try TestSupport.temporaryDirectory("labelcast-keep")
        let input = try Self.richMatroska(dir)
        let key = dir + "/key"
        try "test key 0123456789abcdef".write(toFile: key, atomically: true, encoding: .utf8)
        let out = dir + "/out.mkv"
        let r = try TestSupport.labelcast(["run", "-i", input, "-o", out, "--segments", "1-7", "--key-file", key, "--payload-id", "0x00C0FFEE"])
        #expect(r.status == 0, "\(r.stderr)")

        let s = try Self.streams(out)
        #expect(s.map(\.type) == ["video", "audio", "audio", "subtitle", "attachment"], "\(s.map(\.type))")
        guard s.count == 5 else { return }
        #expect(s[1].tags["language"] == "eng" && s[2].tags["language"] == "fra" && s[2].tags["title"] == "Commentary")
        #expect(s[2].disposition["comment"] == 1 && s[1].disposition["comment"] == 0)
        #expect(s[3].codec == "subrip" && s[3].tags["language"] == "deu")
        #expect(s[4].tags["filename"] == "DejaVuSans.ttf" && s[4].tags["mimetype"] == "application/x-truetype-font")
        // The attachment's bytes, dumped by ffmpeg, are the font's.
        _ = try TestSupport.run("ffmpeg", ["-v", "quiet", "-y", "-dump_attachment:t:0", dir + "/dumped.ttf", "-i", out], cwd: dir)
        #expect(FileManager.default.contents(atPath: dir + "/dumped.ttf") == FileManager.default.contents(atPath: Self.font))

        // Cues: same text, same place against the picture (within 1 ms).
        let subIn = try Self.subtitles(input), subOut = try Self.subtitles(out)
        #expect(subOut.contains("Hello one") && subOut.contains("Hello two"), "\(subOut)")
        let vIn = try Self.firstVideoTime(input), vOut = try Self.firstVideoTime(out)
        let cuesIn = Self.cueStarts(subIn).map { $0 - vIn }, cuesOut = Self.cueStarts(subOut).map { $0 - vOut }
        #expect(cuesIn.count == 2 && cuesOut.count == 2)
        for (a, b) in zip(cuesIn, cuesOut) { #expect(abs(a - b) <= 0.001, "cue at \(a) s after the first picture in, \(b) s out") }

        // Container tags and the input's chapters, with the synthetic segment added.
        let tags = try TestSupport.probeFormat(out).tags
        let lower = Dictionary(tags.map { ($0.key.lowercased(), $0.value) }, uniquingKeysWith: { a, _ in a })
        #expect(lower["title"] == "My Film" && lower["artist"] == "Someone" && lower["comment"] == "keep me", "\(tags)")
        let ch = try Self.chapters(out)
        #expect(ch.contains { $0.title == "Intro" && abs($0.start) < 0.05 && abs($0.end - 1.5) < 0.05 }, "\(ch)")
        #expect(ch.contains { $0.title == "Main" && abs($0.start - 1.5) < 0.05 }, "\(ch)")
        #expect(ch.contains { $0.title.hasPrefix("AI生成") && abs($0.start - 1) < 0.1 && abs($0.end - 7) < 0.1 }, "\(ch)")

        // Every audio track carries the watermark over the segment.
        for track in 0..<2 {
            let excerpt = dir + "/track\(track).mka"
            let x = try TestSupport.run("ffmpeg", ["-v", "error", "-y", "-i", out, "-map", "0:a:\(track)", "-c", "copy", excerpt])
            #expect(x.status == 0)
            let d = try TestSupport.labelcast(["detect", excerpt, "--key-file", key, "--json"])
            let found = try JSONDecoder().decode(Found.self, from: d.stdout)
            #expect(found.segments.contains { $0.payload == "0x00C0FFEE" && $0.start < 2 && $0.end > 6 }, "track \(track): \(d.stdoutText)")
        }
    }

    @Test(.timeLimit(.minutes(3)))
    func mp4GetsSubtitlesInItsOwnCodecAndChaptersThatTile() throws {
        let dir = try TestSupport.temporaryDirectory("labelcast-keep-mp4")
        let input = try Self.richMatroska(dir)
        let out = dir + "/out.mp4"
        let r = try TestSupport.labelcast(["run", "-i", input, "-o", out, "--segments", "1-5"])
        #expect(r.status == 0, "\(r.stderr)")
        // The attachment has no place in MP4: one notice naming it.
        #expect(r.stderr.components(separatedBy: "attachment stream #4").count == 2, "\(r.stderr)")
        let s = try Self.streams(out).filter { $0.type != "data" }  // MP4 keeps chapters in a text track
        #expect(s.map(\.type) == ["video", "audio", "audio", "subtitle"], "\(s.map(\.type))")
        #expect(s.last?.codec == "mov_text" && s.last?.tags["language"] == "deu")
        let sub = try Self.subtitles(out)
        #expect(sub.contains("Hello one") && sub.contains("Hello two"), "\(sub)")
        // MP4 chapters tile the timeline: cut where either the input's chapters or the segment change.
        let titles = try Self.chapters(out).map(\.title)
        #expect(titles == ["Intro", "AI生成 · AI-generated · Intro", "AI生成 · AI-generated · Main", "Main"], "\(titles)")
        // A second pass does not label the labeled chapters twice, nor copy the chapter track as data.
        let again = dir + "/again.mp4"
        #expect(try TestSupport.labelcast(["run", "-i", out, "-o", again, "--segments", "1-5", "-q"]).status == 0)
        #expect(try Self.chapters(again).map(\.title) == titles)
        #expect(try Self.streams(again).filter { $0.type == "data" }.count == 1)
    }

    /// The cover picture's bytes as the input or output stores them (ffmpeg, stream copy of
    /// the stream ffprobe shows as the attached picture).
    static func coverBytes(_ path: String, dir: String) throws -> Data {
        guard let index = try streams(path).firstIndex(where: { $0.disposition["attached_pic"] == 1 }) else {
            throw TestFailure("\(path) has no attached picture")
        }
        let picture = dir + "/cover-of-\((path as NSString).lastPathComponent).bin"
        let r = try TestSupport.run("ffmpeg", ["-v", "error", "-y", "-i", path, "-map", "0:\(index)", "-c", "copy", "-frames:v", "1",
                                               "-f", "image2", "-update", "1", picture])
        guard r.status == 0 else { throw TestFailure("ffmpeg could not take the cover out of \(path): \(r.stderr)") }
        return try Data(contentsOf: URL(fileURLWithPath: picture))
    }

    /// Cover art: MP4/MOV outputs cannot keep it as FFmpeg 5.1 writes them (the iTunes cover is
    /// dropped next to custom keys, and the AIGC field is one): one notice naming it. Matroska
    /// keeps it, as Matroska keeps covers: an attachment `cover.png`/`cover.jpg` with its MIME
    /// type, which readers (FFmpeg's among them) show as the file's attached picture — the
    /// same bytes as the input's. From an MP4 with a PNG cover and an MP3 with a JPEG one.
    @Test(.timeLimit(.minutes(2)))
    func coverArtIsKeptInMatroskaAndNamedWhereItCannotBe() throws {
        let dir = try TestSupport.temporaryDirectory("labelcast-keep-cover")
        let png = dir + "/cover.png", jpeg = dir + "/cover.jpg", input = dir + "/in.mp4", mp3 = dir + "/in.mp3"
        #expect(try TestSupport.run("ffmpeg", ["-v", "error", "-y", "-f", "lavfi", "-i", "color=c=red:size=64x64", "-frames:v", "1", png]).status == 0)
        #expect(try TestSupport.run("ffmpeg", ["-v", "error", "-y", "-f", "lavfi", "-i", "testsrc=size=96x96", "-frames:v", "1", jpeg]).status == 0)
        let mk = try TestSupport.run("ffmpeg", ["-v", "error", "-y", "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25", "-f", "lavfi", "-i", "sine=r=48000",
                                                "-i", png, "-t", "2", "-map", "0", "-map", "1", "-map", "2", "-c:v:0", "libx264", "-pix_fmt:v:0", "yuv420p",
                                                "-c:v:1", "png", "-disposition:v:1", "attached_pic", "-c:a", "aac", input])
        #expect(mk.status == 0, "\(mk.stderr)")
        let mk3 = try TestSupport.run("ffmpeg", ["-v", "error", "-y", "-f", "lavfi", "-i", "sine=r=44100", "-i", jpeg, "-t", "3", "-map", "0", "-map", "1",
                                                 "-c:a", "libmp3lame", "-c:v", "copy", "-id3v2_version", "3", "-metadata:s:v", "title=Album cover",
                                                 "-metadata:s:v", "comment=Cover (front)", mp3])
        #expect(mk3.status == 0, "\(mk3.stderr)")
        // MP4: left out, named once; the pictures are labeled.
        let out = dir + "/out.mp4"
        let r = try TestSupport.labelcast(["run", "-i", input, "-o", out, "--synthetic", "all"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stderr.components(separatedBy: "video stream #2 (png, cover art)").count == 2, "\(r.stderr)")
        #expect(try Self.streams(out).map(\.type) == ["video", "audio"])
        // Matroska: kept, as the input's own picture.
        for (source, codec, name) in [(input, "png", "cover.png"), (mp3, "mjpeg", "cover.jpg")] {
            let mkv = dir + "/out-\(codec).mkv"
            let k = try TestSupport.labelcast(["run", "-i", source, "-o", mkv, "--synthetic", "all"])
            #expect(k.status == 0, "\(k.stderr)")
            #expect(!k.stderr.contains("cover art"), "no notice: \(k.stderr)")
            let s = try Self.streams(mkv)
            let covers = s.filter { $0.disposition["attached_pic"] == 1 }
            #expect(covers.count == 1 && covers.first?.codec == codec, "\(s.map { ($0.type, $0.codec, $0.disposition["attached_pic"] ?? 0) })")
            #expect(covers.first?.tags["filename"] == name && covers.first?.tags["mimetype"] == (codec == "png" ? "image/png" : "image/jpeg"),
                    "\(covers.first?.tags ?? [:])")
            if source == mp3 { #expect(covers.first?.tags["title"] == "Album cover", "\(covers.first?.tags ?? [:])") }
            #expect(s.filter { $0.type == "audio" }.count == 1)
            #expect(s.filter { $0.type == "video" && $0.disposition["attached_pic"] != 1 }.count == (source == input ? 1 : 0))
            #expect(try Self.coverBytes(mkv, dir: dir) == Self.coverBytes(source, dir: dir), "the cover's bytes are the input's")
        }
    }

    @Test(.timeLimit(.minutes(2)))
    func timecodeTrackComesThrough() throws {
        let dir = try TestSupport.temporaryDirectory("labelcast-timecode")
        let input = dir + "/in.mov"
        #expect(try TestSupport.run("ffmpeg", ["-v", "error", "-y", "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25", "-f", "lavfi", "-i", "sine",
                                               "-t", "2", "-c:v", "libx264", "-pix_fmt", "yuv420p", "-c:a", "aac", "-timecode", "01:00:00:00", input]).status == 0)
        for ext in ["mov", "mp4", "mkv"] {
            let out = dir + "/out.\(ext)"
            let r = try TestSupport.labelcast(["run", "-i", input, "-o", out, "--synthetic", "all"])
            #expect(r.status == 0 && !r.stderr.contains("timecode track"), "\(r.stderr)")
            let s = try Self.streams(out)
            let tags = s.first { $0.type == "video" }?.tags ?? [:]
            #expect(tags["timecode"] ?? tags["TIMECODE"] == "01:00:00:00", "\(ext): \(tags)")
            if ext != "mkv" { #expect(s.contains { $0.type == "data" && $0.tags["timecode"] == "01:00:00:00" }, "\(ext): a tmcd track") }
        }
    }

    @Test(.timeLimit(.minutes(3)))
    func mapChoosesStreamsLikeFFmpeg() throws {
        let dir = try TestSupport.temporaryDirectory("labelcast-map")
        let input = try Self.richMatroska(dir)
        let a = dir + "/a.mkv"
        var r = try TestSupport.labelcast(["run", "-i", input, "-o", a, "--map", "0:v:0", "--map", "0:a:1", "--synthetic", "all", "-q"])
        #expect(r.status == 0, "\(r.stderr)")
        let s = try Self.streams(a)
        #expect(s.map(\.type) == ["video", "audio"] && s.last?.tags["language"] == "fra", "\(s.map(\.type))")
        let b = dir + "/b.mkv"
        r = try TestSupport.labelcast(["run", "-i", input, "-o", b, "--map", "0", "--map=-0:s", "--map=-0:t", "-q"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(try Self.streams(b).map(\.type) == ["video", "audio", "audio"])
        let c = dir + "/c.mkv"
        r = try TestSupport.labelcast(["run", "-i", input, "-o", c, "--map", "0:m:language:fra", "-q"])
        #expect(try Self.streams(c).map(\.type) == ["audio"])
        for (bad, mentions) in [("0:s:5", "matches no stream"), ("1:v", "one input"), ("v", "input number")] {
            let out = dir + "/bad.mkv"
            r = try TestSupport.labelcast(["run", "-i", input, "-o", out, "--map", bad])
            #expect(r.status >= 2, "\(bad)")
            let lines = r.stderr.split(separator: "\n").filter { $0.contains("error") || $0.contains("--map") }
            #expect(lines.count == 1 && r.stderr.contains(mentions), "\(bad): \(r.stderr)")
            #expect(!FileManager.default.fileExists(atPath: out))
        }
        #expect(!TestSupport.files(in: dir).contains { $0.hasPrefix(".") || $0.contains("partial") }, "\(TestSupport.files(in: dir))")
    }

    @Test(.timeLimit(.minutes(2)))
    func mpegtsKeepsItsProgramsAndServiceNames() throws {
        let dir = try TestSupport.temporaryDirectory("labelcast-programs")
        let input = dir + "/in.ts", out = dir + "/out.ts"
        let mk = try TestSupport.run("ffmpeg", ["-v", "error", "-y", "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25", "-f", "lavfi", "-i", "sine=f=440",
            "-f", "lavfi", "-i", "testsrc=size=320x240:rate=25", "-f", "lavfi", "-i", "sine=f=880", "-t", "2",
            "-map", "0:v", "-map", "1:a", "-map", "2:v", "-map", "3:a", "-c:v", "libx264", "-pix_fmt", "yuv420p", "-c:a", "aac",
            "-program", "title=News:program_num=10:st=0:st=1", "-program", "title=Sport:program_num=20:st=2:st=3", input])
        #expect(mk.status == 0, "\(mk.stderr)")
        let r = try TestSupport.labelcast(["run", "-i", input, "-o", out, "--synthetic", "all", "-q"])
        #expect(r.status == 0, "\(r.stderr)")
        let p = try TestSupport.run("ffprobe", ["-v", "error", "-show_programs", "-of", "json", out])
        let json = try JSONSerialization.jsonObject(with: p.stdout) as? [String: Any] ?? [:]
        let programs = (json["programs"] as? [[String: Any]] ?? []).map { prog -> (Int, String, [String]) in
            ((prog["program_num"] as? Int) ?? -1, (prog["tags"] as? [String: String])?["service_name"] ?? "",
             (prog["streams"] as? [[String: Any]] ?? []).map { $0["codec_name"] as? String ?? "" }.sorted())
        }.sorted { $0.0 < $1.0 }
        #expect(programs.map(\.0) == [10, 20] && programs.map(\.1) == ["News", "Sport"], "\(programs)")
        // Each service keeps its picture and sound, and carries the AIGC timed metadata.
        for prog in programs { #expect(prog.2 == ["aac", "h264", "timed_id3"], "\(prog)") }
    }

    @Test(.timeLimit(.minutes(2)))
    func whatTheOutputCannotTakeIsNamedOnce() throws {
        let dir = try TestSupport.temporaryDirectory("labelcast-leftout")
        let input = try Self.richMatroska(dir)
        let out = dir + "/out.flv"
        let r = try TestSupport.labelcast(["run", "-i", input, "-o", out, "--synthetic", "all"])
        #expect(r.status == 0, "\(r.stderr)")
        for name in ["subtitle stream #3 (subrip, deu)", "attachment stream #4"] {
            #expect(r.stderr.components(separatedBy: name).count == 2, "one notice for \(name): \(r.stderr)")
        }
        // FLV holds one audio stream: the second is named too.
        #expect(r.stderr.components(separatedBy: "audio stream #2 (aac, fra)").count == 2, "\(r.stderr)")
        #expect(try Self.streams(out).map(\.type) == ["video", "audio"])
    }
}
