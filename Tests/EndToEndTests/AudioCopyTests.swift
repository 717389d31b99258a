import Foundation
import Testing
import TestSupport

/// Copying unlabeled audio: outside the re-encoded stretch around a synthetic segment the
/// output's AAC packets are the input's, byte for byte, and decode to the input's samples;
/// the joins decode as cleanly as an ffmpeg re-encode of the same signal (the AAC overlap is
/// handled, no click or dip); the watermark is where the segment is. Oracles: ffmpeg's
/// `-f framemd5 -c copy` (packets), its decoder (samples), ffprobe, `labelcast detect`.
@Suite(.serialized) struct AudioCopyTests {
    static let frame = 1024, rate = 48000

    /// 12 s: a small H.264 picture and a tonal two-channel signal (never silent, no noise: the
    /// AAC decoder's noise substitution would make decoded samples differ where packets do not)
    /// as AAC-LC 48 kHz stereo 128 kb/s (ffmpeg's aac).
    static func makeClip(_ dir: String) throws -> String {
        let clip = dir + "/clip.mp4"
        let tone = "aevalsrc=0.25*sin(2*PI*440*t)*(1+0.5*sin(2*PI*0.7*t))+0.15*sin(2*PI*660*t+2*sin(2*PI*3*t))+0.08*sin(2*PI*1250*t)"
            + "|0.2*sin(2*PI*330*t)+0.1*sin(2*PI*990*t)*(1+0.5*sin(2*PI*1.3*t)):s=48000"
        let r = try TestSupport.run("ffmpeg", ["-v", "error", "-y", "-f", "lavfi", "-i", "testsrc2=size=160x120:rate=25", "-f", "lavfi", "-i", tone,
                                               "-t", "12", "-map", "0:v", "-map", "1:a", "-c:v", "libx264", "-preset", "ultrafast", "-g", "50",
                                               "-pix_fmt", "yuv420p", "-c:a", "aac", "-b:a", "128k", clip])
        guard r.status == 0 else { throw TestFailure("ffmpeg could not make the clip: \(r.stderr)") }
        return clip
    }

    /// MD5 of each audio packet as stored, in order (raw AAC: MPEG-TS's ADTS framing taken off
    /// by ffmpeg's aac_adtstoasc, so the payloads compare).
    static func packets(_ path: String) throws -> [String] {
        let bsf = path.hasSuffix(".ts") ? ["-bsf:a", "aac_adtstoasc"] : []
        let r = try TestSupport.run("ffmpeg", ["-v", "error", "-i", path, "-map", "0:a:0", "-c", "copy"] + bsf + ["-f", "framemd5", "-"])
        guard r.status == 0 else { throw TestFailure("ffmpeg framemd5 failed on \(path): \(r.stderr)") }
        return r.stdoutText.split(separator: "\n").filter { !$0.hasPrefix("#") }.compactMap {
            let f = $0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
            return f.count >= 6 ? f[5] : nil
        }
    }

    /// The decoded first audio track, interleaved stereo float (ffmpeg's decoder, priming trimmed).
    static func samples(_ path: String) throws -> [Float] {
        let r = try TestSupport.run("ffmpeg", ["-v", "error", "-i", path, "-map", "0:a:0", "-f", "f32le", "-ac", "2", "-"])
        guard r.status == 0 else { throw TestFailure("ffmpeg could not decode \(path): \(r.stderr)") }
        return r.stdout.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
    }

    /// SNR (dB) of `b` against `a` over sample frames [from, from + count).
    static func snr(_ a: [Float], _ b: [Float], from: Int, count: Int) -> Double {
        var s = 0.0, e = 0.0
        for i in (2 * from)..<min(2 * (from + count), a.count, b.count) {
            s += Double(a[i]) * Double(a[i])
            e += Double(a[i] - b[i]) * Double(a[i] - b[i])
        }
        return 10 * log10(s / max(e, 1e-20))
    }

    static func run(_ args: [String], in dir: String) throws -> String {
        let r = try TestSupport.labelcast(args, cwd: dir)
        guard r.status == 0 else { throw TestFailure("labelcast failed: \(r.stderr)") }
        return r.stderr
    }

    /// Packet k (k = 0 is the priming packet at pts −1024) decodes to samples of frame k − 1.
    @Test(arguments: ["mp4", "mkv", "ts"])
    func packetsOutsideTheStretchAreTheInputsOwn(container: String) throws {
        let dir = try TestSupport.temporaryDirectory()
        let clip = try Self.makeClip(dir)
        let key = try WatermarkEndToEndTests.writeKey(dir)
        let out = dir + "/out." + container
        let log = try Self.run(["run", "-i", clip, "-o", out, "--segments", "4-7", "--key-file", key, "-v"], in: dir)
        #expect(log.contains("audio: copying unlabeled audio"), "\(log)")
        let pin = try Self.packets(clip), pout = try Self.packets(out)
        #expect(pout.count == pin.count, "as many packets out as in: \(pin.count) → \(pout.count)")
        let changed = zip(pin, pout).enumerated().filter { $0.element.0 != $0.element.1 }.map(\.offset)
        let first = try #require(changed.first), last = try #require(changed.last)
        let d = Double(Self.frame) / Double(Self.rate)
        // One run of re-encoded packets: those whose frame or a neighbour's touches 4-7 s.
        let firstAt: Double = Double(first - 1) * d, lastAt: Double = Double(last - 1) * d
        #expect(changed.count == last - first + 1, "re-encoded packets are one run: \(changed)")
        #expect(firstAt < 4 - d && firstAt >= 4 - 2 * d, "first re-encoded packet at \(firstAt) s")
        #expect(lastAt >= 7 && lastAt < 7 + d, "last re-encoded packet at \(lastAt) s")
        #expect(pin.count - changed.count > Int((12 - 3.2) / d), "\(pin.count - changed.count) of \(pin.count) packets are the input's own")

        let probe = { (path: String) throws -> String in
            try TestSupport.run("ffprobe", ["-v", "error", "-select_streams", "a:0", "-show_entries", "stream=codec_name,profile,sample_rate,channels",
                                            "-of", "default=nw=1", path]).stdoutText
        }
        #expect(try probe(out).hasPrefix(probe(clip)), "the output's audio stream is declared as the input's (MPEG-TS: once more for its program)")
        #expect(try TestSupport.run("ffmpeg", ["-v", "error", "-i", out, "-map", "0:a", "-f", "null", "-"]).errorLines.isEmpty, "decodes without an error")

        // Decoded: aligned on the input (MPEG-TS and Matroska keep the priming frame: one frame later).
        let input = try Self.samples(clip), output = try Self.samples(out)
        let lag = container == "mp4" ? 0 : Self.frame
        func snrOut(_ frameIndex: Int) -> Double {
            Self.snr(input, Array(output.dropFirst(2 * lag)), from: frameIndex * Self.frame, count: Self.frame)
        }
        // Away from the stretch the samples are the input's (the same packets decoded).
        for k in [20, first - 4, last + 3, 500] { #expect(snrOut(k) > 90, "frame \(k): \(snrOut(k)) dB") }
        // The joins: the frames where a copied and a re-encoded window overlap (the first
        // re-encoded packet's frame; the first copied one's after the stretch) decode close to
        // the input, as close as ffmpeg's re-encode of the whole track does there less 10 dB
        // (a splice without the lead-in and the post-roll: 12.9 and 1.8 dB, a dip).
        let ref = dir + "/ref.m4a"
        let e = try TestSupport.run("ffmpeg", ["-v", "error", "-y", "-i", clip, "-map", "0:a", "-c:a", "aac", "-b:a", "128k", ref])
        #expect(e.status == 0)
        let reference = try Self.samples(ref)
        for k in [first - 1, last] {
            let join = snrOut(k)
            let full = Self.snr(input, reference, from: k * Self.frame, count: Self.frame)
            #expect(join >= 25 && join >= full - 10, "join frame at \(Double(k) * d) s: SNR \(join) dB, an ffmpeg re-encode's \(full) dB")
        }

        // The watermark is where the segment is.
        let r = try TestSupport.labelcast(["detect", out, "--key-file", key, "--json"])
        #expect(r.status == 0, "\(r.stderr)")
        let found = try JSONDecoder().decode(WatermarkEndToEndTests.Found.self, from: r.stdout)
        #expect(found.segments.count == 1, "\(r.stdoutText)")
        if let s = found.segments.first { #expect(abs(s.start - 4) <= 0.5 && abs(s.end - 7) <= 0.5, "range \(s.start)-\(s.end)") }
    }

    /// `--transcode` and `--audio-bitrate` re-encode every audio packet, saying why with `-v`;
    /// with nothing synthetic every packet is the input's.
    @Test func theChoicesThatReencodeAllAndNothingSynthetic() throws {
        let dir = try TestSupport.temporaryDirectory()
        let clip = try Self.makeClip(dir)
        let pin = try Self.packets(clip)
        func identical(_ extra: [String], _ name: String) throws -> (Int, String) {
            let out = dir + "/" + name
            let log = try Self.run(["run", "-i", clip, "-o", out, "-v"] + extra, in: dir)
            let pout = try Self.packets(out)
            return (zip(pin, pout).filter { $0.0 == $0.1 }.count, log)
        }
        let (transcoded, tLog) = try identical(["--segments", "4-7", "--transcode"], "t.mp4")
        #expect(transcoded < 3, "--transcode: \(transcoded) packets identical")
        #expect(tLog.contains("every audio frame is re-encoded (--transcode)"), "\(tLog)")
        let (rated, rLog) = try identical(["--segments", "4-7", "--audio-bitrate", "128k"], "r.mp4")
        #expect(rated < 3, "--audio-bitrate: \(rated) packets identical")
        #expect(rLog.contains("--audio-bitrate sets the encoder"), "\(rLog)")
        let (none, _) = try identical(["--segments", "20-30"], "n.mp4")
        #expect(none == pin.count, "nothing synthetic: \(none) of \(pin.count) packets identical")
    }
}
