import Foundation
import Testing
import TestSupport

/// `--copy-unlabeled` on a live input (MPEG-TS over UDP from a real ffmpeg publisher, switched
/// through the real control API): pictures go out as the publisher's own packets until the
/// switch, re-encoded and labeled from the answered instant, re-encoded to the next IDR after
/// the switch off, then copied again. The oracle is the publisher's own recording of the same
/// stream (ffmpeg's tee muxer) and ffmpeg's decoder.
@Suite(.serialized) struct LiveCopyTests {
    /// (pts in seconds as the file stores it, key frame, md5) of each decoded picture, in
    /// presentation order: times and flags from ffprobe, hashes from ffmpeg's framemd5.
    static func pictures(_ path: String) throws -> [(t: Double, key: Bool, md5: String)] {
        let r = try TestSupport.run("ffmpeg", ["-v", "error", "-i", path, "-map", "0:v:0", "-f", "framemd5", "-"])
        guard r.status == 0 else { throw TestFailure("framemd5 failed on \(path): \(r.stderr)") }
        let hashes = r.stdoutText.split(separator: "\n").filter { !$0.hasPrefix("#") }.compactMap { $0.split(separator: ",").last?.trimmingCharacters(in: .whitespaces) }
        let p = try TestSupport.run("ffprobe", ["-v", "error", "-select_streams", "v:0", "-show_entries", "frame=pts_time,key_frame", "-of", "csv=p=0", path])
        let frames = p.stdoutText.split(separator: "\n").compactMap { line -> (Double, Bool)? in
            let f = line.split(separator: ",")
            guard f.count >= 2, let t = Double(f[1]) else { return nil }
            return (t, f[0] == "1")
        }
        guard frames.count == hashes.count else { throw TestFailure("\(path): ffprobe saw \(frames.count) pictures, framemd5 \(hashes.count)") }
        return zip(frames, hashes).map { ($0.0, $0.1, $1) }
    }

    /// The earliest stream start of a recording (labelcast's media time 0 when it took the stream from its start).
    static func startTime(_ path: String) throws -> Double {
        let r = try TestSupport.run("ffprobe", ["-v", "error", "-show_entries", "stream=start_time", "-of", "csv=p=0", path])
        return r.stdoutText.split(separator: "\n").compactMap { Double($0.trimmingCharacters(in: .whitespaces)) }.min() ?? 0
    }

    /// Default (`--copy-decode continuous` with a control API: the decoder runs through copied
    /// stretches) and `ahead` (it sleeps; the switch wakes it mid-GOP and the pictures since the
    /// GOP's IDR are decoded first, so the first labeled picture is the input's, not a guess).
    /// H.264 with the copy asked for by name and as the default (no flag), and HEVC (x265
    /// without B-frames) by default.
    @Test(arguments: [(nil, "h264", true), ("ahead", "h264", true), (nil, "h264", false), (nil, "hevc", false)] as [(String?, String, Bool)])
    func copiesUntilTheSwitchAndFromTheNextIDRAfterIt(copyDecode: String?, codec: String, byName: Bool) throws {
        let dir = try TestSupport.temporaryDirectory()
        let port = LiveServers.freePort(), control = LiveServers.freePort()
        let token = "live-copy-token"
        let output = dir + "/out.ts", reference = dir + "/ref.ts"
        let lc = try LiveServers.Background(TestSupport.labelcastBinary, [
            "run", "-i", "udp://127.0.0.1:\(port)", "-o", output,
            "--listen", "127.0.0.1:\(control)", "--control-token", token, "-v",
        ] + (byName ? ["--copy-unlabeled"] : []) + (copyDecode.map { ["--copy-decode", $0] } ?? []), log: dir + "/labelcast.log")
        defer { lc.stop(SIGKILL) }
        // A live encoder's stream (no B-frames, an IDR every 2 s, 25 fps), recorded as sent.
        let sw = try LiveServers.publishAndSwitch(port: port, control: control, token: token, reference: reference, seconds: 10,
                                                  onAt: 3.3, hold: 2.0, labelcast: lc, dir: dir,
                                                  video: codec == "hevc" ? LiveServers.liveHEVC : LiveServers.liveH264,
                                                  audio: LiveServers.varyingTone)
        let tOn = sw.on, tOff = sw.off
        #expect(lc.stop(SIGINT) == 130, "\(lc.log)")

        let decode = try TestSupport.run("ffmpeg", ["-v", "warning", "-i", output, "-map", "0:v:0", "-f", "null", "-"])
        #expect(decode.errorLines.filter { !$0.contains("estimate_timings") }.isEmpty, "\(decode.stderr)")
        let ref = try Self.pictures(reference), out = try Self.pictures(output)
        try #require(ref.count >= 240 && out.count >= 200, "\(ref.count) reference pictures, \(out.count) out")
        // labelcast joined before the publisher started: media time 0 is the recording's start.
        let first = try #require(ref.firstIndex { $0.md5 == out[0].md5 }, "the output's first picture is not the publisher's")
        let origin = try Self.startTime(reference)
        let backOn = try #require(ref.first { $0.key && $0.t - origin >= tOff - 1e-6 }, "no IDR after the switch off at \(tOff)").t - origin
        var wrong: [String] = []
        for (i, p) in out.enumerated() where first + i < ref.count {
            let t = ref[first + i].t - origin
            let identical = p.md5 == ref[first + i].md5
            let shouldCopy = t < tOn - 1e-6 || t >= backOn - 1e-6
            if identical != shouldCopy { wrong.append(String(format: "%.3f %@", t, identical ? "copied" : "re-encoded")) }
        }
        #expect(wrong.isEmpty, "switch on \(tOn), off \(tOff), next IDR \(backOn): \(wrong.count) pictures on the wrong side: \(wrong.prefix(6))")
        // The label is in the pictures from the answered instant (pixels, against the publisher's).
        let w = 480, h = 270
        let fin = try TestSupport.lumaFrames(reference, width: w, height: h), fout = try TestSupport.lumaFrames(output, width: w, height: h)
        let onIndex = try #require(out.indices.first { ref[first + $0].t - origin >= tOn - 1e-6 })
        func inked(_ i: Int) -> Int { zip(fin[first + i], fout[i]).filter { abs(Int($0) - Int($1)) > 100 }.count }
        #expect(inked(onIndex) > 300, "the first picture at/after the switch carries no label")
        #expect(inked(onIndex - 1) == 0, "the picture before the switch carries ink")
        // Re-encoded from the input's pictures (below the label: coding noise only).
        for i in [onIndex, onIndex + 5] {
            let d = LiveCopyAheadTests.meanDiff(fin[first + i], fout[i], width: w, fromRow: h / 2)
            #expect(d < 3, "picture \(i) after the switch differs from the publisher's by \(String(format: "%.2f", d)) below the label")
        }
        #expect(lc.log.contains("--copy-decode \(copyDecode ?? "continuous")"), "\(lc.log)")
        #expect(try CopyUnlabeledTests.videoField(output, "codec_name") == codec)

        // The audio (AAC in ADTS, as MPEG-TS carries it): the publisher's own packets outside the
        // switched stretch, re-encoded (watermarked) inside it. Output times onto the
        // publisher's clock by the packets found in both (each hash once in the reference).
        let refAudio = try Self.audioPackets(reference)
        var refTime: [String: Double] = [:], seen: [String: Int] = [:]
        for p in refAudio { refTime[p.md5] = p.t; seen[p.md5, default: 0] += 1 }
        let outAudio = try Self.audioPackets(output)
        let shifts = outAudio.compactMap { p in seen[p.md5] == 1 ? refTime[p.md5].map { $0 - p.t } : nil }.sorted()
        let shift = try #require(shifts.isEmpty ? nil : shifts[shifts.count / 2], "no output audio packet is the publisher's")
        #expect((shifts.last ?? 0) - (shifts.first ?? 0) < 0.002, "copied audio packets keep their spacing: shifts \(shifts.first ?? 0) … \(shifts.last ?? 0)")
        func media(_ t: Double) -> Double { t + shift - origin }
        let outside = outAudio.filter { media($0.t) < tOn - 0.1 || media($0.t) > tOff + 0.1 }
        let inside = outAudio.filter { media($0.t) > tOn + 0.05 && media($0.t) < tOff - 0.05 }
        try #require(outside.count > 200 && inside.count > 20, "\(outside.count) audio packets outside the stretch, \(inside.count) inside")
        let foreign = outside.filter { seen[$0.md5] == nil }
        #expect(foreign.isEmpty, "\(foreign.count) of \(outside.count) audio packets outside \(tOn)-\(tOff) s are not the publisher's: at \(foreign.prefix(8).map { media($0.t) })")
        let copiedInside = inside.filter { seen[$0.md5] != nil }
        #expect(copiedInside.isEmpty, "\(copiedInside.count) of \(inside.count) audio packets inside the synthetic stretch went out copied: at \(copiedInside.prefix(8).map { media($0.t) })")
        #expect(lc.log.contains("copying unlabeled audio"), "\(lc.log)")
    }

    /// (pts in seconds, md5 of the raw AAC payload) of each audio packet as stored (ADTS framing
    /// taken off by ffmpeg's aac_adtstoasc, so the payloads compare across muxers).
    static func audioPackets(_ path: String) throws -> [(t: Double, md5: String)] {
        let r = try TestSupport.run("ffmpeg", ["-v", "error", "-i", path, "-map", "0:a:0", "-c", "copy", "-bsf:a", "aac_adtstoasc", "-f", "framemd5", "-"])
        guard r.status == 0 else { throw TestFailure("framemd5 failed on \(path): \(r.stderr)") }
        var tb = 1.0 / 90000
        var rows: [(Double, String)] = []
        for line in r.stdoutText.split(separator: "\n") {
            if line.hasPrefix("#tb 0:"), let frac = line.split(separator: " ").last {
                let nd = frac.split(separator: "/").compactMap { Double($0) }
                if nd.count == 2 { tb = nd[0] / nd[1] }
            }
            guard !line.hasPrefix("#") else { continue }
            let f = line.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
            if f.count >= 6, let pts = Double(f[2]) { rows.append((pts * tb, f[5])) }
        }
        return rows
    }
}
