import Foundation
import Testing
import TestSupport

/// SCTE-35 from an MPEG-TS input reaches MPEG-TS outputs as SCTE 35 defines it, on the same
/// pictures. FFmpeg cannot write SCTE-35, so the input is an ffmpeg-made TS (testsrc + sine,
/// H.264/AAC, program 7 "Channel7") into which `Tests/Scripts/scte35.py` puts a PMT entry (0x86,
/// 'CUEI') and three splice_insert sections whose splice times land on known pictures (one
/// with a pts_adjustment of its own, one longer than a TS packet). Oracles: ffprobe (FFmpeg's
/// demuxer names the stream scte_35 only for 0x86 + 'CUEI'), the script's own section reader
/// (CRC_32, commands, TS layer) and ffprobe's frame timestamps of both files' video.
@Suite(.serialized) struct SCTE35Tests {
    static let script = C2PATests.root + "/Tests/Scripts/scte35.py"
    static let modulus: Int64 = 1 << 33
    /// Presentation index of the picture each cue's splice lands on (25 fps, 4 s: 100 pictures).
    static let cues = """
    [{"event_id": 1001, "out_of_network": 1, "frame": 25, "lead": 0.8, "duration": 90000},
     {"event_id": 1002, "out_of_network": 0, "frame": 60, "lead": 1.0, "adjustment": 12345, "avails": 24},
     {"event_id": 1003, "out_of_network": 1, "frame": 85, "lead": 0.6}]
    """

    struct Section: Decodable {
        let crc_ok: Bool
        let pts_adjustment: Int64
        let command_type: Int
        let command_hex: String
        let descriptors_hex: String
        let event_id: Int?
        let pts_time: Int64?
        let program: Int
    }
    struct Program: Decodable {
        struct Entry: Decodable { let stream_type: Int; let pid: Int }
        let number: Int
        let cuei: Bool?
        let streams: [Entry]?
    }
    struct Layer: Decodable { let cc_errors: Int; let pes_starts: Int; let bad_stuffing: Int; let packets: Int }
    struct Reading: Decodable { let programs: [Program]; let scte_pids: [Int]; let sections: [Section]; let ts: Layer }

    /// The test input: a TS with three cues (in `dir`/in.ts).
    static func input(_ dir: String) throws -> String {
        let plain = dir + "/plain.ts", input = dir + "/in.ts"
        let mk = try TestSupport.run("ffmpeg", ["-v", "error", "-y", "-f", "lavfi", "-i", "testsrc=size=320x240:rate=25",
            "-f", "lavfi", "-i", "sine=f=440:sample_rate=48000", "-t", "4", "-c:v", "libx264", "-pix_fmt", "yuv420p",
            "-c:a", "aac", "-ac", "2", "-mpegts_service_id", "7", "-metadata", "service_name=Channel7", plain])
        guard mk.status == 0 else { throw TestFailure("ffmpeg: \(mk.stderr)") }
        try cues.write(toFile: dir + "/cues.json", atomically: true, encoding: .utf8)
        let r = try TestSupport.run("python3", [script, "inject", plain, input, dir + "/cues.json"])
        guard r.status == 0 else { throw TestFailure("scte35.py inject: \(r.stderr)") }
        return input
    }

    static func read(_ path: String) throws -> Reading {
        let r = try TestSupport.run("python3", [script, "sections", path])
        guard r.status == 0 else { throw TestFailure("scte35.py sections \(path): \(r.stderr)") }
        return try JSONDecoder().decode(Reading.self, from: r.stdout)
    }

    /// ffprobe's video frame timestamps (90 kHz), in presentation order.
    static func videoPTS(_ path: String) throws -> [Int64] {
        let r = try TestSupport.run("ffprobe", ["-v", "error", "-select_streams", "v:0", "-show_entries", "frame=pts", "-of", "csv=p=0", path])
        return r.stdoutText.split(separator: "\n").compactMap { Int64($0.trimmingCharacters(in: .whitespaces).split(separator: ",").first ?? "") }.sorted()
    }

    /// ffprobe's streams of `path` as (codec_type, codec_name), and its programs' numbers,
    /// service names and member codecs.
    static func probe(_ path: String) throws -> (streams: [String], programs: [(Int, String, [String])]) {
        let r = try TestSupport.run("ffprobe", ["-v", "error", "-show_streams", "-show_programs", "-of", "json", path])
        let json = try JSONSerialization.jsonObject(with: r.stdout) as? [String: Any] ?? [:]
        let streams = (json["streams"] as? [[String: Any]] ?? []).map { "\($0["codec_type"] as? String ?? "")/\($0["codec_name"] as? String ?? "")" }
        let programs = (json["programs"] as? [[String: Any]] ?? []).map { p in
            ((p["program_num"] as? Int) ?? -1, (p["tags"] as? [String: String])?["service_name"] ?? "",
             (p["streams"] as? [[String: Any]] ?? []).map { $0["codec_name"] as? String ?? "" }.sorted())
        }
        return (streams, programs)
    }

    /// Checks that `output` carries `input`'s sections as SCTE 35 sections whose splice times
    /// land on the same pictures.
    /// `program`: the number and service name the output's program keeps (HLS's TS segments
    /// have FFmpeg's own single program).
    static func expectSameCues(input: String, output: String, program: (Int, String)? = (7, "Channel7")) throws {
        let inRead = try read(input), outRead = try read(output)
        // ffprobe (FFmpeg's demuxer) recognises the stream: 0x86 and 'CUEI' in the program loop.
        let probed = try probe(output)
        #expect(probed.streams.contains("data/scte_35"), "\(probed.streams)")
        if let program {
            #expect(probed.programs.map(\.0) == [program.0] && probed.programs.first?.1 == program.1, "\(probed.programs)")
            #expect(probed.programs.first?.2.contains("scte_35") == true, "\(probed.programs)")
        }
        // The PMT, read by the script: the program keeps its number, declares 0x86 and CUEI.
        #expect(outRead.programs.count == 1 && outRead.programs[0].cuei == true, "\(outRead.programs)")
        if let program { #expect(outRead.programs.first?.number == program.0) }
        #expect(outRead.scte_pids.count == 1)
        // Sections, not PES; continuity counted; 0xFF stuffing.
        #expect(outRead.ts.pes_starts == 0 && outRead.ts.cc_errors == 0 && outRead.ts.bad_stuffing == 0, "\(outRead.ts)")
        #expect(outRead.sections.count == inRead.sections.count && inRead.sections.count == 3,
                "in \(inRead.sections.count), out \(outRead.sections.count)")
        #expect(outRead.sections.allSatisfy { $0.crc_ok })
        #expect(outRead.sections.map(\.event_id) == inRead.sections.map(\.event_id))
        #expect(outRead.sections.map(\.command_hex) == inRead.sections.map(\.command_hex), "splice commands (and splice_time) unchanged")
        #expect(outRead.sections.map(\.descriptors_hex) == inRead.sections.map(\.descriptors_hex))
        // splice_time + pts_adjustment: the same picture (presentation index) in both files.
        let inPTS = try videoPTS(input), outPTS = try videoPTS(output)
        #expect(inPTS.count == outPTS.count && inPTS.count == 100, "in \(inPTS.count) pictures, out \(outPTS.count)")
        for (a, b) in zip(inRead.sections, outRead.sections) {
            guard let t = a.pts_time else { Issue.record("cue \(a.event_id ?? -1) has no splice time"); continue }
            let inTarget = (t + a.pts_adjustment) % modulus, outTarget = (t + b.pts_adjustment) % modulus
            let i = try #require(inPTS.firstIndex(of: inTarget), "cue \(a.event_id ?? -1): no input picture at \(inTarget)")
            let j = outPTS.indices.min { abs(outPTS[$0] - outTarget) < abs(outPTS[$1] - outTarget) }!
            #expect(i == j && abs(outPTS[j] - outTarget) <= 1,
                    "cue \(a.event_id ?? -1): input picture \(i) at \(inTarget); output lands at \(outTarget), nearest picture \(j) at \(outPTS[j])")
        }
    }

    @Test(.timeLimit(.minutes(3)))
    func spliceInformationReachesTheTSOutputOnTheSamePictures() throws {
        let dir = try TestSupport.temporaryDirectory("labelcast-scte35")
        let input = try Self.input(dir)
        // The input is what a receiver reads as SCTE-35.
        #expect(try Self.probe(input).streams.contains("data/scte_35"))
        let out = dir + "/out.ts"
        let r = try TestSupport.labelcast(["run", "-i", input, "-o", out, "--synthetic", "all", "-q"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(!r.stderr.contains("scte_35"), "no notice: \(r.stderr)")
        try Self.expectSameCues(input: input, output: out)
        // The output clock is not the input's: the cues were moved, not copied.
        let moved = try zip(Self.read(input).sections, Self.read(out).sections).map { $1.pts_adjustment - $0.pts_adjustment }
        #expect(moved.allSatisfy { $0 != 0 }, "\(moved)")
        // A second pass (a chain of TS processors) adds its own shift; the cues still land right.
        let again = dir + "/again.ts"
        let r2 = try TestSupport.labelcast(["run", "-i", out, "-o", again, "--synthetic", "all", "-q"])
        #expect(r2.status == 0, "\(r2.stderr)")
        try Self.expectSameCues(input: input, output: again)
    }

    @Test(.timeLimit(.minutes(2)))
    func aStreamedTSOutputCarriesThemToo() throws {
        let dir = try TestSupport.temporaryDirectory("labelcast-scte35-pipe")
        let input = try Self.input(dir)
        // stdout: the live path (flush_packets, no temporary file) through the same writer.
        let r = try TestSupport.labelcast(["run", "-i", input, "-o", "-", "-f", "mpegts", "--synthetic", "all", "-q"])
        #expect(r.status == 0, "\(r.stderr)")
        let saved = dir + "/piped.ts"
        try r.stdout.write(to: URL(fileURLWithPath: saved))
        try Self.expectSameCues(input: input, output: saved)
    }

    @Test(.timeLimit(.minutes(2)))
    func hlsTSSegmentsCarryThem() throws {
        let dir = try TestSupport.temporaryDirectory("labelcast-scte35-hls")
        let input = try Self.input(dir)
        let r = try TestSupport.labelcast(["run", "-i", input, "-o", dir + "/out.m3u8", "--synthetic", "all", "-q"])
        #expect(r.status == 0, "\(r.stderr)")
        // The segments in playlist order, one after the other: the stream a player reads.
        let playlist = try String(contentsOfFile: dir + "/out.m3u8", encoding: .utf8)
        let segments = playlist.split(separator: "\n").filter { $0.hasSuffix(".ts") }.map { dir + "/" + $0 }
        #expect(segments.count >= 2, "\(playlist)")
        var joined = Data()
        for s in segments { joined += try Data(contentsOf: URL(fileURLWithPath: s)) }
        let all = dir + "/joined.ts"
        try joined.write(to: URL(fileURLWithPath: all))
        try Self.expectSameCues(input: input, output: all, program: nil)
        // Each segment declares the stream on its own (a player may start at any one).
        for s in segments { #expect(try Self.read(s).programs.first?.cuei == true, "\(s)") }
    }

    /// The HLS playlist announces every cue as RFC 8216bis's SCTE-35 date range
    /// (`EXT-X-DATERANGE` with `SCTE35-OUT`/`SCTE35-IN`, `PLANNED-DURATION` from
    /// break_duration), START-DATE at the splice point's media time on the playlist's program
    /// date clock, before the segment holding it — with TS segments (which also carry the
    /// sections) and with fMP4 segments (which cannot: the playlist is their only place). The
    /// oracle: the script's reading of the input's sections, ffprobe's stream start times.
    @Test(.timeLimit(.minutes(2)), arguments: ["ts", "fmp4"])
    func hlsPlaylistsAnnounceTheCues(segments: String) throws {
        let dir = try TestSupport.temporaryDirectory("labelcast-scte35-daterange")
        let input = try Self.input(dir)
        let r = try TestSupport.labelcast(["run", "-i", input, "-o", dir + "/out.m3u8", "--synthetic", "all", "-q",
                                           "--muxer-opt", "hls_segment_type=\(segments == "ts" ? "mpegts" : "fmp4")", "--muxer-opt", "hls_time=1"])
        #expect(r.status == 0, "\(r.stderr)")
        let playlist = try String(contentsOfFile: dir + "/out.m3u8", encoding: .utf8)
        let lines = playlist.split(separator: "\n").map(String.init)
        // Media time 0: the first segment's program date (labelcast's AIGC ranges use the same clock).
        let pdt = try #require(lines.first { $0.hasPrefix("#EXT-X-PROGRAM-DATE-TIME:") }, "\(playlist)")
        let origin = try #require(Self.date(String(pdt.dropFirst(25))), "\(pdt)")
        func attribute(_ line: String, _ name: String) -> String? {
            guard let r = line.range(of: name + "=") else { return nil }
            var v = line[r.upperBound...].prefix { $0 != "," }
            if v.hasPrefix("\"") { v = line[r.upperBound...].dropFirst().prefix { $0 != "\"" } }
            return String(v)
        }
        let tags = lines.enumerated().filter { $0.element.hasPrefix("#EXT-X-DATERANGE:") && $0.element.contains("SCTE35-") }
        let start = try Self.mediaOrigin(input)
        let sections = try Self.read(input).sections
        #expect(tags.count == sections.count, "\(tags.map(\.element))")
        let kinds = [1001: "SCTE35-OUT", 1002: "SCTE35-IN", 1003: "SCTE35-OUT"]
        for section in sections {
            let id = section.event_id ?? -1
            let tag = try #require(tags.first { attribute($0.element, "ID") == "splice-\(id)" }, "no date range for cue \(id): \(tags.map(\.element))")
            let kind = try #require(kinds[id])
            let hex = try #require(attribute(tag.element, kind), "cue \(id): no \(kind): \(tag.element)")
            #expect(hex.hasPrefix("0xFC") && hex.lowercased().contains(section.command_hex.lowercased()), "cue \(id): \(hex)")
            let expected = Double(((section.pts_time ?? 0) + section.pts_adjustment) % Self.modulus - start) / 90_000
            let date = try #require(attribute(tag.element, "START-DATE").flatMap(Self.date))
            let at = date.timeIntervalSince(origin)
            #expect(abs(at - expected) < 0.0015, "cue \(id): START-DATE at \(at) s of media time, the splice point is at \(expected) s")
            if id == 1001 { #expect(attribute(tag.element, "PLANNED-DURATION") == "1.000", "\(tag.element)") }
            // Right before the segment whose time span holds the splice point.
            func extinf(_ line: String) -> Double? { line.hasPrefix("#EXTINF:") ? Double(line.dropFirst(8).prefix { $0 != "," }) : nil }
            let before = lines[..<tag.offset].compactMap(extinf).reduce(0, +)
            let next = try #require(lines[tag.offset...].lazy.compactMap(extinf).first, "cue \(id): no segment after its tag")
            #expect(before <= expected + 0.05 && expected < before + next + 0.05,
                    "cue \(id) at \(expected) s is listed before the segment [\(before), \(before + next)) s")
        }
    }

    /// DASH: the manifest carries the cues as SCTE 214-1 describes (an `EventStream` of scheme
    /// `urn:scte:scte35:2014:xml+bin`, an `Event` per cue at its splice point, the section in
    /// base64), and FFmpeg's DASH demuxer still reads the manifest.
    @Test(.timeLimit(.minutes(2)))
    func dashManifestsCarryTheCues() throws {
        let dir = try TestSupport.temporaryDirectory("labelcast-scte35-dash")
        let input = try Self.input(dir)
        let r = try TestSupport.labelcast(["run", "-i", input, "-o", dir + "/out.mpd", "--synthetic", "all", "-q"])
        #expect(r.status == 0, "\(r.stderr)")
        let mpd = try String(contentsOfFile: dir + "/out.mpd", encoding: .utf8)
        let stream = try #require(mpd.range(of: #"<EventStream schemeIdUri="urn:scte:scte35:2014:xml\+bin" timescale="90000">.*?</EventStream>"#, options: .regularExpression), "\(mpd)")
        let text = String(mpd[stream])
        let events = text.components(separatedBy: "<Event ").dropFirst().map { e -> (t: Int64, bytes: [UInt8]) in
            let t = e.range(of: #"presentationTime="(\d+)""#, options: .regularExpression).map { Int64(e[$0].dropFirst(18).dropLast()) ?? -1 } ?? -1
            let b64 = e.range(of: #"<Binary>[^<]*</Binary>"#, options: .regularExpression).map { String(e[$0].dropFirst(8).dropLast(9)) } ?? ""
            return (t, [UInt8](Data(base64Encoded: b64) ?? Data()))
        }
        let sections = try Self.read(input).sections
        #expect(events.count == sections.count, "\(text)")
        let start = try Self.mediaOrigin(input)
        for (event, section) in zip(events, sections) {
            let hex = event.bytes.map { String(format: "%02x", $0) }.joined()
            #expect(event.bytes.first == 0xFC && hex.contains(section.command_hex.lowercased()), "cue \(section.event_id ?? -1): \(hex)")
            let expected = ((section.pts_time ?? 0) + section.pts_adjustment) % Self.modulus - start
            #expect(abs(event.t - expected) <= 90, "cue \(section.event_id ?? -1): at \(event.t), the splice point at \(expected) (90 kHz)")
        }
        let read = try TestSupport.run("ffprobe", ["-v", "error", "-show_entries", "stream=codec_type", "-of", "csv=p=0", dir + "/out.mpd"])
        #expect(read.status == 0 && read.stdoutText.contains("video"), "\(read.stderr)")
    }

    /// M2TS mode (`--muxer-opt mpegts_m2ts_mode=1`, 192-byte packets): FFmpeg's writer
    /// numbers only audio, video and subtitle streams there, and failed the header ("Cannot
    /// automatically assign PID", exit 2) for the SCTE-35 and timed-ID3 streams; now each gets
    /// a PID of its own. Oracle: ffprobe's streams and PIDs, and the packet layout itself.
    @Test(.timeLimit(.minutes(2)))
    func m2tsModeKeepsTheDataStreams() throws {
        let dir = try TestSupport.temporaryDirectory("labelcast-scte35-m2ts")
        let input = try Self.input(dir)
        let out = dir + "/out.ts"
        let r = try TestSupport.labelcast(["run", "-i", input, "-o", out, "--synthetic", "all", "-q", "--muxer-opt", "mpegts_m2ts_mode=1"])
        #expect(r.status == 0, "\(r.stderr)")
        let p = try TestSupport.run("ffprobe", ["-v", "error", "-show_entries", "stream=codec_type,id", "-of", "csv=p=0", out])
        // (ffprobe lists the program's copy of each stream too: distinct lines. FFmpeg's
        // demuxer reads the timed-ID3 PID of an M2TS file as audio, by its 'ID3 ' tag.)
        let distinct: Set<String> = Set(p.stdoutText.split(separator: "\n").map { String($0) })
        let streams: [[String]] = distinct.map { line in line.split(separator: ",").map { String($0) } }.filter { $0.count == 2 }
        #expect(streams.count == 4 && streams.filter { $0[0] == "data" }.count == 1, "\(streams)")
        #expect(Set(streams.map { $0[1] }).count == 4, "PIDs: \(streams)")
        let bytes = try Data(contentsOf: URL(fileURLWithPath: out))
        #expect(bytes.count % 192 == 0 && stride(from: 4, to: bytes.count, by: 192).allSatisfy { bytes[$0] == 0x47 }, "not 192-byte packets")
        #expect(try Self.videoPTS(out).count == 100)
    }

    /// labelcast's media time 0 on the input's 90 kHz clock: the earliest start of its audio
    /// and video streams (ffprobe).
    static func mediaOrigin(_ input: String) throws -> Int64 {
        let r = try TestSupport.run("ffprobe", ["-v", "error", "-show_entries", "stream=codec_type,start_pts", "-of", "csv=p=0", input])
        return r.stdoutText.split(separator: "\n").compactMap { l -> Int64? in
            let f = l.split(separator: ","); return f.count == 2 && (f[0] == "video" || f[0] == "audio") ? Int64(f[1]) : nil }.min() ?? 0
    }

    static func date(_ s: String) -> Date? {
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        for format in ["yyyy-MM-dd'T'HH:mm:ss.SSSZ", "yyyy-MM-dd'T'HH:mm:ss.SSSXXXXX"] {
            f.dateFormat = format
            if let d = f.date(from: s) { return d }
        }
        return nil
    }

    @Test(.timeLimit(.minutes(2)))
    func outputsWithoutAPlaceForItNameTheStream() throws {
        let dir = try TestSupport.temporaryDirectory("labelcast-scte35-mp4")
        let input = try Self.input(dir)
        let out = dir + "/out.mp4"
        let r = try TestSupport.labelcast(["run", "-i", input, "-o", out, "--synthetic", "all"])
        #expect(r.status == 0, "\(r.stderr)")
        let name = "data stream #2 (scte_35)"
        #expect(r.stderr.components(separatedBy: name).count == 2 && r.stderr.contains("no place for SCTE-35"), "one notice: \(r.stderr)")
        #expect(try Self.probe(out).streams.sorted() == ["audio/aac", "video/h264"])
    }
}

/// SCTE-35 over live MPEG-TS (UDP on loopback): out of a live output (the same writer and filter
/// as a file), and from a live input into a file. Real sockets, so it runs with the live suites
/// (not in the file-only process).
@Suite(.serialized) struct SCTE35LiveTests {
    @Test(.timeLimit(.minutes(1)))
    func aUDPOutputCarriesThem() throws {
        let dir = try TestSupport.temporaryDirectory("labelcast-scte35-udp")
        let input = try SCTE35Tests.input(dir)
        let port = LiveServers.freePort(), rec = dir + "/rec.ts"
        // The datagrams as they arrive, written one after the other (python3's socket: no
        // demuxer between the wire and the file), until 3 s without one.
        let receiver = try LiveServers.Background("python3", ["-c", """
            import socket, sys
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
            s.bind(("127.0.0.1", int(sys.argv[1])))
            s.settimeout(30)
            out = open(sys.argv[2], "wb")
            try:
                while True:
                    out.write(s.recv(65536)); out.flush(); s.settimeout(3)
            except socket.timeout:
                pass
            """, String(port), rec], log: dir + "/rec.log")
        defer { receiver.stop(SIGKILL) }
        Thread.sleep(forTimeInterval: 0.5)
        let r = try TestSupport.labelcast(["run", "-i", input, "-o", "udp://127.0.0.1:\(port)?pkt_size=1316", "--synthetic", "all", "-q"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(LiveRTMPTests.waitUntil(15) { !receiver.process.isRunning }, "the receiver ends 3 s after the last datagram")
        try SCTE35Tests.expectSameCues(input: input, output: rec)
    }

    @Test(.timeLimit(.minutes(1)))
    func aLiveUDPInputKeepsThem() throws {
        let dir = try TestSupport.temporaryDirectory("labelcast-scte35-udp-in")
        let input = try SCTE35Tests.input(dir)
        let port = LiveServers.freePort(), out = dir + "/out.ts"
        let lc = try LiveServers.Background(TestSupport.labelcastBinary, [
            "run", "-i", "udp://127.0.0.1:\(port)", "-o", out, "--synthetic", "all", "--read-timeout", "2"],
            log: dir + "/lc.log")
        defer { lc.stop(SIGKILL) }
        Thread.sleep(forTimeInterval: 1)
        // The input's bytes as a live feed: 7 TS packets a datagram, paced over its 4 s.
        let send = try TestSupport.run("python3", ["-c", """
            import socket, sys, time
            data = open(sys.argv[1], "rb").read()
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            chunks = [data[i:i + 1316] for i in range(0, len(data), 1316)]
            for c in chunks:
                s.sendto(c, ("127.0.0.1", int(sys.argv[2])))
                time.sleep(4.0 / len(chunks))
            """, input, String(port)])
        #expect(send.status == 0, "\(send.stderr)")
        // The feed is over once labelcast has read it all (2 s without data: it would reconnect);
        // Ctrl-C then finalizes the output.
        #expect(LiveRTMPTests.waitUntil(30) { lc.log.contains("input lost") }, "\(lc.log)")
        #expect(lc.stop(SIGINT) == 130, "\(lc.log)")
        try SCTE35Tests.expectSameCues(input: input, output: out)
    }
}
