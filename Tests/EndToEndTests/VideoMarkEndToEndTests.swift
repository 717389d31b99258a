import Foundation
import Testing
import TestSupport

/// The video mark through the real chain: `labelcast run` → an `ffmpeg` H.264 CRF 30 re-encode
/// at 480p → `labelcast detect`, on a clip whose audio is silent (so only the picture can say it
/// is synthetic).
@Suite(.serialized) struct VideoMarkEndToEndTests {
    struct Found: Decodable {
        struct Segment: Decodable { let start: Double; let end: Double; let payload: String; let confidence: Double; let modality: String }
        let duration: Double
        let segments: [Segment]
        let videoSyncZ: Double?
        enum CodingKeys: String, CodingKey { case duration, segments, videoSyncZ = "video_sync_z" }
    }

    /// 8 s of 1280x720 30 fps textured, moving picture (a Mandelbrot zoom, drawn at 640x360 to
    /// keep it cheap) with silent stereo audio.
    static func makeClip(_ dir: String) throws -> String {
        let path = dir + "/clip.mkv"
        try TestSupport.makeMedia(path, seconds: 8, video: "mandelbrot=size=640x360:rate=30:maxiter=100",
                                  audio: "anullsrc=channel_layout=stereo:sample_rate=48000",
                                  extra: ["-vf", "scale=1280:720", "-c:v", "libx264", "-crf", "18", "-preset", "ultrafast", "-c:a", "flac"])
        return path
    }

    @Test func survivesH264At480pAndKeepsTheRangeEdges() throws {
        let dir = try TestSupport.temporaryDirectory()
        let clip = try Self.makeClip(dir)
        let key = dir + "/vm.key"
        try Data("video e2e key 0123456789".utf8).write(to: URL(fileURLWithPath: key))
        let marked = dir + "/marked.mkv", attacked = dir + "/attacked.mp4"
        let run = try TestSupport.labelcast(["run", "-i", clip, "-o", marked, "--segments", "2-6", "--key-file", key, "--payload-id", "0xC0FFEE"])
        #expect(run.status == 0, "\(run.stderr)")
        let enc = try TestSupport.run("ffmpeg", ["-v", "error", "-y", "-i", marked, "-vf", "scale=-2:480", "-c:v", "libx264", "-crf", "30",
                                                 "-c:a", "aac", attacked])
        #expect(enc.status == 0, "\(enc.stderr)")
        let r = try TestSupport.labelcast(["detect", attacked, "--key-file", key, "--json"])
        #expect(r.status == 0, "\(r.stderr)")
        let found = try JSONDecoder().decode(Found.self, from: r.stdout)
        let video = found.segments.filter { $0.modality == "video" }
        #expect(video.count == 1, "\(r.stdoutText)")
        if let v = video.first {
            #expect(v.payload == "0x00C0FFEE")
            #expect(abs(v.start - 2) <= 0.5 && abs(v.end - 6) <= 0.5, "\(r.stdoutText)")
        }
        // The audio is silent: no audio range, and the text output tags the range as video.
        #expect(found.segments.allSatisfy { $0.modality == "video" }, "\(r.stdoutText)")
        let plain = try TestSupport.labelcast(["detect", attacked, "--key-file", key, "-q"])
        let fields = plain.stdoutText.split(whereSeparator: \.isNewline).first?.split(separator: " ") ?? []
        #expect(fields.count == 5 && fields[2] == "0x00C0FFEE" && fields[4] == "video", "\(plain.stdoutText)")

        // Wrong key, and the same clip labeled with --no-video-mark: nothing in the picture.
        let wrong = dir + "/wrong.key"
        try Data("another key entirely 42".utf8).write(to: URL(fileURLWithPath: wrong))
        var w = try TestSupport.labelcast(["detect", attacked, "--key-file", wrong, "--json"])
        #expect(w.status == 1)
        let none = try JSONDecoder().decode(Found.self, from: w.stdout)
        #expect(none.segments.isEmpty && (none.videoSyncZ ?? 99) < 6, "\(w.stdoutText)")
        let bare = dir + "/bare.mkv"
        let off = try TestSupport.labelcast(["run", "-i", clip, "-o", bare, "--segments", "2-6", "--key-file", key, "--no-video-mark"])
        #expect(off.status == 0, "\(off.stderr)")
        w = try TestSupport.labelcast(["detect", bare, "--key-file", key, "--json"])
        #expect(w.status == 1, "\(w.stdoutText)")
    }

    @Test func videoOnlyAndAudioOnlyInputsAreRead() throws {
        let dir = try TestSupport.temporaryDirectory()
        let clip = dir + "/v.mkv"
        try TestSupport.makeMedia(clip, seconds: 4, video: "mandelbrot=size=640x360:rate=25:maxiter=100", audio: nil)
        let marked = dir + "/v-marked.mkv"
        let run = try TestSupport.labelcast(["run", "-i", clip, "-o", marked, "--synthetic", "all", "-q"])
        #expect(run.status == 0, "\(run.stderr)")
        let r = try TestSupport.labelcast(["detect", marked, "--json"])
        #expect(r.status == 0, "\(r.stderr)")
        let found = try JSONDecoder().decode(Found.self, from: r.stdout)
        #expect(found.segments.map(\.modality) == ["video"] && found.segments.first?.payload == "0x00000000", "\(r.stdoutText)")
        #expect(abs(found.duration - 4) < 0.2)
        let audio = dir + "/a.wav"
        try TestSupport.makeMedia(audio, seconds: 2, video: nil)
        let a = try TestSupport.labelcast(["detect", audio, "--json"])
        #expect(a.status == 1, "\(a.stderr)")
        #expect(try JSONDecoder().decode(Found.self, from: a.stdout).videoSyncZ == nil)
    }
}
