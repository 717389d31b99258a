import Foundation
import Testing
import TestSupport

/// `labelcast run` end to end: real files made by the ffmpeg CLI, checked with ffprobe.
@Suite(.serialized) struct RunCommandTests {
    @Test func transcodes720p30WithExactFrameCounts() throws {
        let dir = try TestSupport.temporaryDirectory()
        let input = dir + "/in.mp4", output = dir + "/out.mp4"
        try TestSupport.makeMedia(input, seconds: 4, video: "testsrc2=size=1280x720:rate=30",
                                  extra: ["-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac"])
        let r = try TestSupport.labelcast(["run", "-i", input, "-o", output, "--segments", "1-2"])
        #expect(r.status == 0, "\(r.stderr)")
        let inStreams = try TestSupport.probe(input), outStreams = try TestSupport.probe(output)
        let vin = try #require(inStreams.first { $0.codecType == "video" })
        let vout = try #require(outStreams.first { $0.codecType == "video" })
        let aout = try #require(outStreams.first { $0.codecType == "audio" })
        #expect(vout.codecName == "h264")
        #expect(aout.codecName == "aac")
        #expect(vout.frames == vin.frames && vin.frames == 120)
        #expect(vout.width == 1280 && vout.height == 720)
        #expect(abs(vout.frameRate - 30) < 0.01)
        #expect(abs(vout.duration - vin.duration) <= 1.0 / 30 + 1e-6)
        #expect(aout.sampleRate == 48000 && aout.channels == 2)
        let samplesIn = try TestSupport.audioSampleCount(input), samplesOut = try TestSupport.audioSampleCount(output)
        #expect(abs(samplesIn - samplesOut) <= 1024, "samples in \(samplesIn), out \(samplesOut)")
        // The accounting line: every frame in is out or dropped.
        #expect(r.stderr.contains("video: 120 frames in = 120 out + 0 dropped"), "\(r.stderr)")
        #expect(TestSupport.files(in: dir) == ["in.mp4", "out.mp4"])
    }

    @Test func audioOnlyInputWorks() throws {
        let dir = try TestSupport.temporaryDirectory()
        let input = dir + "/in.m4a", output = dir + "/out.m4a", wav = dir + "/out.wav"
        try TestSupport.makeMedia(input, seconds: 3, video: nil, audio: "sine=frequency=300:sample_rate=44100")
        var r = try TestSupport.labelcast(["run", "-i", input, "-o", output, "--synthetic", "all"])
        #expect(r.status == 0, "\(r.stderr)")
        var s = try TestSupport.probe(output)
        #expect(s.count == 1 && s[0].codecName == "aac" && s[0].sampleRate == 44100 && s[0].channels == 2)
        #expect(abs(try TestSupport.audioSampleCount(output) - TestSupport.audioSampleCount(input)) <= 1024)
        // wav takes the container's own codec (PCM).
        r = try TestSupport.labelcast(["run", "-i", input, "-o", wav])
        #expect(r.status == 0, "\(r.stderr)")
        s = try TestSupport.probe(wav)
        #expect(s.first?.codecName == "pcm_s16le")
        // The samples are the programme's, not float bytes read as integers: same level as the source.
        func peak(_ path: String) throws -> Double {
            let r = try TestSupport.run("ffmpeg", ["-v", "info", "-nostats", "-i", path, "-af", "volumedetect", "-f", "null", "-"])
            let line = r.stderr.split(whereSeparator: \.isNewline).first { $0.contains("max_volume") } ?? ""
            return Double(line.split(separator: " ").dropLast().last ?? "") ?? 99
        }
        let wavPeak = try peak(wav), inputPeak = try peak(input)
        #expect(abs(wavPeak - inputPeak) < 1.0, "peak dB: wav \(wavPeak), input \(inputPeak)")
    }

    @Test func videoOnlyInputWorks() throws {
        let dir = try TestSupport.temporaryDirectory()
        let input = dir + "/in.mkv", output = dir + "/out.mp4"
        try TestSupport.makeMedia(input, seconds: 2, video: "testsrc2=size=320x240:rate=25", audio: nil)
        let r = try TestSupport.labelcast(["run", "-i", input, "-o", output])
        #expect(r.status == 0, "\(r.stderr)")
        let s = try TestSupport.probe(output)
        #expect(s.count == 1)
        #expect(s.first?.frames == 50)
    }

    @Test func pipesInAndOut() throws {
        let dir = try TestSupport.temporaryDirectory()
        let input = dir + "/in.ts"
        try TestSupport.makeMedia(input, seconds: 2, extra: ["-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac", "-f", "mpegts"])
        let data = try Data(contentsOf: URL(fileURLWithPath: input))
        let r = try TestSupport.labelcast(["run", "-i", "-", "-o", "-", "-f", "mpegts", "--synthetic", "all"], stdin: data)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.count > 10_000)
        #expect(r.stdout.first == 0x47, "MPEG-TS sync byte")
        let out = dir + "/piped.ts"
        try r.stdout.write(to: URL(fileURLWithPath: out))
        let s = try TestSupport.probe(out)
        #expect(s.first { $0.codecType == "video" }?.frames == 60)
        #expect(s.contains { $0.codecType == "audio" && $0.codecName == "aac" })
    }

    @Test func stdoutNeedsAFormat() throws {
        let dir = try TestSupport.temporaryDirectory()
        let input = dir + "/in.mp4"
        try TestSupport.makeMedia(input, seconds: 1)
        let r = try TestSupport.labelcast(["run", "-i", input, "-o", "-"])
        #expect(r.status >= 2)
        #expect(r.errorLines.count == 1)
        #expect(r.stderr.contains("-f"), "\(r.stderr)")
    }

    @Test func keepsTheAudioVideoStartOffset() throws {
        let dir = try TestSupport.temporaryDirectory()
        let input = dir + "/in.mkv", output = dir + "/out.mkv"
        // Audio starts 0.5 s after video.
        try TestSupport.makeMedia(input, seconds: 3, extra: ["-af", "adelay=500:all=1", "-c:v", "libx264", "-preset", "ultrafast",
                                                             "-c:a", "aac", "-output_ts_offset", "0"])
        let inAudioStart = try firstAudioPacketTime(input), inVideoStart = try firstVideoPacketTime(input)
        let r = try TestSupport.labelcast(["run", "-i", input, "-o", output])
        #expect(r.status == 0, "\(r.stderr)")
        let outAudioStart = try firstAudioPacketTime(output), outVideoStart = try firstVideoPacketTime(output)
        #expect(abs((outAudioStart - outVideoStart) - (inAudioStart - inVideoStart)) < 0.03,
                "in \(inAudioStart - inVideoStart), out \(outAudioStart - outVideoStart)")
    }

    @Test func mpegtsInputWithLateStartKeepsEveryFrame() throws {
        let dir = try TestSupport.temporaryDirectory()
        let input = dir + "/in.ts", output = dir + "/out.mp4"
        try TestSupport.makeMedia(input, seconds: 3, extra: ["-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac", "-output_ts_offset", "10"])
        let r = try TestSupport.labelcast(["run", "-i", input, "-o", output])
        #expect(r.status == 0, "\(r.stderr)")
        let v = try #require(try TestSupport.probe(output).first { $0.codecType == "video" })
        #expect(v.frames == 90)
        #expect(v.startTime < 0.1, "media time 0 is the first timestamp: output starts near 0, got \(v.startTime)")
    }

    @Test func sigintFinalizesAPlayableMP4() throws {
        let dir = try TestSupport.temporaryDirectory()
        let input = dir + "/in.mp4", output = dir + "/out.mp4"
        try TestSupport.makeMedia(input, seconds: 20, extra: ["-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac"])
        let p = Process()
        p.executableURL = URL(fileURLWithPath: TestSupport.labelcastBinary)
        p.arguments = ["run", "-i", input, "-o", output, "--realtime", "--synthetic", "all"]
        let err = Pipe()
        p.standardError = err
        try p.run()
        Thread.sleep(forTimeInterval: 3)
        kill(p.processIdentifier, SIGINT)
        p.waitUntilExit()
        let stderr = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(p.terminationStatus == 130, "\(stderr)")
        #expect(stderr.contains("interrupted, output finalized"), "\(stderr)")
        #expect(TestSupport.files(in: dir) == ["in.mp4", "out.mp4"])
        let v = try #require(try TestSupport.probe(output).first { $0.codecType == "video" })
        #expect(v.frames > 30 && v.frames < 600, "\(v.frames) frames")
        let decode = try TestSupport.run("ffmpeg", ["-v", "error", "-i", output, "-f", "null", "-"])
        #expect(decode.status == 0 && decode.stderr.isEmpty, "\(decode.stderr)")
    }

    @Test func demoWritesItsFiles() throws {
        let dir = try TestSupport.temporaryDirectory()
        let r = try TestSupport.labelcast(["demo", "-d", dir + "/demo"], timeout: 300)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdoutText.contains("labeled.mp4"))
        let files = TestSupport.files(in: dir + "/demo")
        #expect(files.contains("source.mp4") && files.contains("labeled.mp4") && files.contains("report.json"))
        let v = try #require(try TestSupport.probe(dir + "/demo/labeled.mp4").first { $0.codecType == "video" })
        #expect(v.frames == 360 && v.width == 1280 && v.height == 720)
        let report = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir + "/demo/report.json"))) as? [String: Any]
        #expect((report?["lanes"] as? [[String: Any]])?.count == 2)
    }

    private func firstPacketTime(_ path: String, _ stream: String) throws -> Double {
        let r = try TestSupport.run("ffprobe", ["-v", "error", "-select_streams", stream, "-show_entries", "packet=pts_time",
                                                "-read_intervals", "%+#5", "-of", "csv=p=0", path])
        let times = r.stdoutText.split(whereSeparator: \.isNewline).compactMap { Double($0.trimmingCharacters(in: CharacterSet(charactersIn: ", "))) }
        return try #require(times.min())
    }
    private func firstAudioPacketTime(_ path: String) throws -> Double { try firstPacketTime(path, "a:0") }
    private func firstVideoPacketTime(_ path: String) throws -> Double { try firstPacketTime(path, "v:0") }
}
