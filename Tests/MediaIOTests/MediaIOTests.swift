import CFFmpeg
import Foundation
import Testing
import TestSupport
@testable import MediaIO

@Suite struct MediaIOTests {
    @Test func demuxAndDecodeCountFrames() throws {
        let dir = try TestSupport.temporaryDirectory()
        let path = dir + "/in.mkv"
        try TestSupport.makeMedia(path, seconds: 1, video: "testsrc2=size=160x120:rate=25", audio: nil)
        let demuxer = try Demuxer(url: path)
        let vi = try #require(demuxer.bestStream(.video))
        #expect(demuxer.streams[vi].width == 160)
        #expect(demuxer.streams[vi].frameRate == Rational(25, 1))
        let decoder = try Decoder(stream: demuxer.stream(vi))
        var frames = 0
        func drain() throws { while case .output = try decoder.receive() { frames += 1 } }
        while case .packet(let p) = try demuxer.read() {
            guard p.streamIndex == vi else { continue }
            while try decoder.send(p) == .full { try drain() }
            try drain()
        }
        _ = try decoder.send(nil)
        try drain()
        #expect(frames == 25)
    }

    @Test func openErrorsCarryCallAndMessage() {
        do { _ = try Demuxer(url: "/nonexistent/file.mp4"); Issue.record("opened") } catch let e as MediaError {
            #expect(e.call == "avformat_open_input")
            #expect(e.message.contains("No such file"))
            #expect(e.description.contains("/nonexistent/file.mp4"))
        } catch { Issue.record("\(error)") }
    }

    @Test func muxerWritesUnderTemporaryNameAndRenames() throws {
        let dir = try TestSupport.temporaryDirectory()
        let path = dir + "/out.mkv"
        let muxer = try Muxer(url: path, format: nil)
        var s = VideoEncoderSettings(width: 64, height: 64, pixelFormat: AV_PIX_FMT_YUV420P, timeBase: Rational(1, 25), frameRate: Rational(25, 1))
        s.options = ["preset": "ultrafast"]
        let enc = try Encoder(video: s, globalHeader: muxer.needsGlobalHeader)
        let index = try muxer.addStream(encoder: enc)
        try muxer.writeHeader()
        #expect(!FileManager.default.fileExists(atPath: path), "final name must not exist before finish()")
        #expect(TestSupport.files(in: dir).contains { $0.contains(".partial-") })
        for n in 0..<10 {
            let f = try Frame.video(width: 64, height: 64, pixelFormat: AV_PIX_FMT_YUV420P)
            memset(f.plane(0)!, Int32(n * 20), f.linesize(0) * 64)
            memset(f.plane(1)!, 128, f.linesize(1) * 32)
            memset(f.plane(2)!, 128, f.linesize(2) * 32)
            f.pts = Int64(n)
            while try enc.send(f) == .full {}
            while case .output(let p) = try enc.receive() { try muxer.write(p, stream: index, timeBase: enc.timeBase) }
        }
        _ = try enc.send(nil)
        while case .output(let p) = try enc.receive() { try muxer.write(p, stream: index, timeBase: enc.timeBase) }
        try muxer.finish()
        #expect(TestSupport.files(in: dir) == ["out.mkv"])
        let probed = try TestSupport.probe(path)
        #expect(probed.first?.frames == 10)
    }

    @Test func abortedMuxerLeavesNothing() throws {
        let dir = try TestSupport.temporaryDirectory()
        do {
            let muxer = try Muxer(url: dir + "/out.mp4", format: nil)
            var s = AudioEncoderSettings(sampleRate: 48000, channels: 2)
            s.bitRate = 64000
            let enc = try Encoder(audio: s, globalHeader: muxer.needsGlobalHeader)
            _ = try muxer.addStream(encoder: enc)
            try muxer.writeHeader()
            muxer.abort()
        }
        #expect(TestSupport.files(in: dir).isEmpty)
    }

    @Test func resamplerAndFIFOCutEncoderFrames() throws {
        var layout = AVChannelLayout()
        lc_channel_layout_default(&layout, 2)
        let r = try Resampler(inputFormat: AV_SAMPLE_FMT_S16, inputRate: 44100, inputLayout: &layout,
                              outputFormat: AV_SAMPLE_FMT_FLTP, outputRate: 44100, outputChannels: 2)
        let fifo = try AudioFIFO(format: AV_SAMPLE_FMT_FLTP, channels: 2, sampleRate: 44100)
        var total = 0
        for _ in 0..<7 {
            let f = try Frame.audio(samples: 333, format: AV_SAMPLE_FMT_S16, channels: 2, sampleRate: 44100)
            memset(f.plane(0)!, 0, 333 * 4)
            if let out = try r.convert(f) { try fifo.write(out); total += out.sampleCount }
        }
        #expect(total == 7 * 333)
        let chunk = try #require(try fifo.read(1024))
        #expect(chunk.sampleCount == 1024)
        #expect(fifo.count == 7 * 333 - 1024)
        #expect(chunk.sampleFormat == AV_SAMPLE_FMT_FLTP)
    }

    @Test func unknownEncoderSaysSo() {
        do {
            _ = try Encoder(audio: AudioEncoderSettings(sampleRate: 48000, channels: 2).with { $0.codecName = "nonesuch" }, globalHeader: false)
            Issue.record("opened")
        } catch let e as MediaError {
            #expect(e.message.contains("no encoder named 'nonesuch'"))
        } catch { Issue.record("\(error)") }
    }

    @Test func rescaleRoundsToNearest() {
        #expect(MediaTime.rescale(1, from: Rational(1, 30), to: Rational(1, 90000)) == 3000)
        #expect(MediaTime.rescale(MediaTime.noPTS, from: Rational(1, 30), to: Rational(1, 90000)) == MediaTime.noPTS)
        #expect(MediaTime.seconds(45000, Rational(1, 90000)) == 0.5)
    }
}

extension AudioEncoderSettings {
    func with(_ body: (inout AudioEncoderSettings) -> Void) -> AudioEncoderSettings { var c = self; body(&c); return c }
}
