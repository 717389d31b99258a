import Foundation
import Testing
import TestSupport

/// `labelcast inspect` (issue 20, the platform side): every label layer written — by labelcast
/// and, for the AIGC metadata, by the ffmpeg CLI as an independent writer — is found with the
/// right ranges; removing or tampering with a layer changes the verdict as documented; bad
/// inputs are one-line errors. ffprobe and c2pa-python are the oracles where they can be.
@Suite(.serialized) struct InspectTests {
    static let producer = "org.example.studio"
    static let produceID = "ep-0042"

    static func aigc(label: String = "1", producer: String = InspectTests.producer, id: String = InspectTests.produceID) -> String {
        #"{"AIGC":{"Label":"\#(label)","ContentProducer":"\#(producer)","ProduceID":"\#(id)","ReservedCode1":"","ContentPropagator":"\#(producer)","PropagateID":"\#(id)","ReservedCode2":""}}"#
    }

    struct Inspection {
        let status: Int32
        /// The JSON as printed, for failure messages.
        let text: String
        let json: [String: Any]
        var tier: Int? { (json["verdict"] as? [String: Any])?["tier"] as? Int }
        var layers: [[String: Any]] { json["layers"] as? [[String: Any]] ?? [] }
        func layers(_ kind: String) -> [[String: Any]] { layers.filter { $0["kind"] as? String == kind } }
        func layer(_ kind: String) -> [String: Any]? { layers(kind).first }
        static func ranges(_ layer: [String: Any]?) -> [(start: Double, end: Double, payload: String?)] {
            (layer?["ranges"] as? [[String: Any]] ?? []).map { ($0["start"] as? Double ?? -1, $0["end"] as? Double ?? -1, $0["payload"] as? String) }
        }
    }

    /// Runs `labelcast inspect --json`, checks the output against docs/inspect.schema.json.
    static func inspect(_ args: [String], stdin: Data? = nil, environment: [String: String]? = nil) throws -> Inspection {
        let r = try TestSupport.labelcast(["inspect", "--json"] + args, stdin: stdin, environment: environment, timeout: 240)
        guard r.status < 2 else { throw TestFailure("inspect \(args) failed (\(r.status)): \(r.stderr)") }
        let json = try JSONSerialization.jsonObject(with: r.stdout) as? [String: Any] ?? [:]
        try validateSchema(r.stdout)
        return Inspection(status: r.status, text: r.stdoutText, json: json)
    }

    /// The JSON Schema in the repo, applied by python3-jsonschema (an independent validator).
    static func validateSchema(_ json: Data) throws {
        let schema = C2PATests.root + "/docs/inspect.schema.json"
        let script = """
        import json, sys, jsonschema
        jsonschema.validate(json.load(sys.stdin), json.load(open(sys.argv[1])), format_checker=None)
        """
        let r = try TestSupport.run("python3", ["-c", script, schema], stdin: json)
        guard r.status == 0 else { throw TestFailure("the report does not match docs/inspect.schema.json: \(r.stderr.suffix(600))") }
    }

    static func keyFile(_ dir: String) throws -> String {
        let path = dir + "/key.bin"
        try Data((0..<32).map { UInt8(($0 * 37 + 11) & 0xFF) }).write(to: URL(fileURLWithPath: path))
        return path
    }

    static func ffmpeg(_ args: [String]) throws {
        let r = try TestSupport.run("ffmpeg", ["-v", "error", "-y"] + args)
        guard r.status == 0 else { throw TestFailure("ffmpeg \(args.joined(separator: " ")): \(r.stderr)") }
    }

    /// Textured video the video mark can hide in (it stays out of flat areas), with a tone.
    static func makeClip(_ path: String, seconds: Double) throws {
        try TestSupport.makeMedia(path, seconds: seconds, video: "mandelbrot=size=640x360:rate=25:maxiter=100",
                                  extra: ["-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac"])
    }

    /// labelcast writes each container's AIGC field, chapters and both watermarks over 1-6 s of
    /// an 8 s clip; inspect finds each, where labelcast and ffprobe say it is.
    @Test(.timeLimit(.minutes(6)))
    func everyLayerLabelcastWritesIsFoundWithItsRanges() throws {
        let dir = try TestSupport.temporaryDirectory("labelcast-inspect")
        let key = try Self.keyFile(dir)
        try Self.makeClip(dir + "/in.mp4", seconds: 8)
        for ext in ["mp4", "mkv", "flv", "ts"] {
            let out = dir + "/out.\(ext)"
            let run = try TestSupport.labelcast(["run", "-q", "-i", dir + "/in.mp4", "-o", out, "--segments", "1-6", "--key-file", key, "--payload-id", "0x2A",
                                                 "--aigc-producer", Self.producer, "--aigc-produce-id", Self.produceID,
                                                 "--segments-out", dir + "/out.\(ext).segments.json"], timeout: 240)
            #expect(run.status == 0, "\(run.stderr)")
            let i = try Self.inspect([out, "--key-file", key])
            #expect(i.status == 0, "\(ext): \(i.text)")
            #expect(i.tier == 1, "\(ext): \(i.json["verdict"] ?? "")")
            let meta = try #require(i.layer("aigc_metadata"), "\(ext): \(i.layers)")
            #expect(meta["well_formed"] as? Bool == true, "\(ext): \(meta)")
            #expect((meta["aigc"] as? [String: String])?["ProduceID"] == Self.produceID)
            #expect((meta["aigc"] as? [String: String])?["ContentProducer"] == Self.producer)
            #expect(meta["tier"] as? Int == 1)
            let place = meta["place"] as? String ?? ""
            switch ext {
            case "mp4":
                #expect(place.hasPrefix("MP4/MOV tag"), "\(place)")
                // ffprobe reads the same value from the same tag.
                #expect(try TestSupport.probeFormat(out).tags["AIGC"] == meta["value"] as? String)
            case "mkv":
                #expect(place == "Matroska SimpleTag", "\(place)")
                #expect(try TestSupport.probeFormat(out).tags["AIGC"] == meta["value"] as? String)
            case "flv":
                #expect(place == "FLV onMetaData", "\(place)")
                #expect(try TestSupport.probeFormat(out).tags["AIGC"] == meta["value"] as? String)
            default:
                #expect(place.hasPrefix("MPEG-TS timed ID3"), "\(place)")
                #expect(meta["timed"] as? Bool == true)
                // The oracle: ffprobe's times of the timed-ID3 packets, on the video's clock.
                let probe = try TestSupport.run("ffprobe", ["-v", "error", "-show_entries", "packet=pts_time:stream=codec_type,start_time", "-select_streams", "d", "-of", "json", out])
                let packets = (try JSONSerialization.jsonObject(with: probe.stdout) as? [String: Any])?["packets"] as? [[String: Any]] ?? []
                let origin = try TestSupport.probe(out).first { $0.codecType == "video" }?.startTime ?? 0
                let first = try #require(packets.compactMap { Double($0["pts_time"] as? String ?? "") }.min()) - origin
                let ranges = Inspection.ranges(meta)
                #expect(ranges.count == 1, "\(ranges)")
                #expect(abs((ranges.first?.start ?? -1) - first) < 0.05 && abs(first - 1) < 0.1, "\(ranges) first tag \(first)")
                // Timed ID3 repeats every 2 s: the range ends within one interval after the segment.
                #expect((ranges.first?.end ?? 0) >= 5.9 && (ranges.first?.end ?? 0) <= 8.05, "\(ranges)")
            }
            // The watermarks over the segment, with the payload id, as `labelcast detect` reads
            // them (the video mark needs ~1 s of frames to lock; the audio mark is read from the
            // MP4 here: from this build's TS/MKV/FLV outputs detect reads only its sync, z ~6.8).
            for kind in ext == "mp4" ? ["audio_watermark", "video_watermark"] : ["video_watermark"] {
                let w = Inspection.ranges(i.layer(kind))
                #expect(!w.isEmpty, "\(ext): no \(kind): \(i.layers.map { $0["kind"] ?? "" })")
                #expect(w.allSatisfy { $0.payload == "0x0000002A" }, "\(ext) \(kind): \(w)")
                if let lo = w.map(\.start).min(), let hi = w.map(\.end).max() {
                    #expect(lo > 0.8 && lo < 2.4 && abs(hi - 6) < 0.4, "\(ext) \(kind): \(w)")
                }
                #expect(i.layer(kind)?["tier"] as? Int == 2)
            }
            let detect = try TestSupport.labelcast(["detect", out, "--key-file", key, "--json"])
            let detected = (try JSONSerialization.jsonObject(with: detect.stdout) as? [String: Any])?["segments"] as? [[String: Any]] ?? []
            #expect(detected.count == (i.layers("audio_watermark") + i.layers("video_watermark")).reduce(0) { $0 + Inspection.ranges($1).count }, "\(ext): detect \(detected)")
            // Chapters (MP4, Matroska) titled with the label text, one per synthetic segment.
            if ext == "mp4" || ext == "mkv" {
                let ch = Inspection.ranges(i.layer("chapters"))
                #expect(ch.count == 1 && abs((ch.first?.start ?? -1) - 1) < 0.05 && abs((ch.first?.end ?? -1) - 6) < 0.05, "\(ext): \(ch)")
            }
            // The sidecar beside the file, as labelcast wrote it.
            let side = Inspection.ranges(i.layer("segments_sidecar"))
            #expect(side.count == 1 && abs((side.first?.start ?? -1) - 1) < 0.05, "\(ext): \(side)")
        }
        // A pipe: the same TS through standard input gives the same metadata ranges.
        let file = try Self.inspect([dir + "/out.ts", "--key-file", key])
        let piped = try Self.inspect(["-", "--key-file", key], stdin: try Data(contentsOf: URL(fileURLWithPath: dir + "/out.ts")))
        #expect(piped.status == 0)
        #expect(Inspection.ranges(piped.layer("aigc_metadata")).map(\.start) == Inspection.ranges(file.layer("aigc_metadata")).map(\.start))
        #expect(!Inspection.ranges(piped.layer("video_watermark")).isEmpty)
        #expect(piped.json["input"] as? String == "-")
    }

    /// The ffmpeg CLI as an independent writer of the AIGC field, in every container it can
    /// put one (`-metadata AIGC=…`); WAV's LIST/INFO and RIFF `AIGC` chunk made byte by byte.
    @Test(.timeLimit(.minutes(3)))
    func metadataWrittenByFFmpegIsFoundAndStrippingItLeavesNothing() throws {
        let dir = try TestSupport.temporaryDirectory("labelcast-inspect-ff")
        let value = Self.aigc()
        let places = ["mp4": "MP4/MOV tag (moov/udta/meta)", "mov": "MP4/MOV tag (moov/udta/meta)", "mkv": "Matroska SimpleTag", "flv": "FLV onMetaData",
                      "mp3": "MP3 ID3v2 TXXX", "flac": "FLAC Vorbis comment", "ogg": "Ogg Vorbis comment"]
        for (ext, place) in places.sorted(by: { $0.key < $1.key }) {
            let out = dir + "/ff.\(ext)"
            let movflags = ext == "mp4" || ext == "mov" ? ["-movflags", "use_metadata_tags"] : []
            try Self.ffmpeg(["-f", "lavfi", "-i", "sine=f=440:sample_rate=44100", "-t", "2", "-metadata", "AIGC=\(value)"] + movflags + [out])
            let i = try Self.inspect([out])
            #expect(i.status == 0 && i.tier == 1, "\(ext): \(i.text)")
            let meta = i.layer("aigc_metadata")
            #expect((meta?["place"] as? String ?? "").hasPrefix(place), "\(ext): \(meta ?? [:])")
            #expect(meta?["value"] as? String == value)
            #expect(meta?["timed"] as? Bool == false)
            // Stripped as a platform's transcoder would: no layer left, exit 1.
            let stripped = dir + "/stripped.\(ext)"
            try Self.ffmpeg(["-i", out, "-map_metadata", "-1", "-c", "copy"] + movflags + [stripped])
            #expect(try TestSupport.probeFormat(stripped).tags["AIGC"] == nil)
            let s = try Self.inspect([stripped])
            #expect(s.status == 1 && s.tier == nil && s.layers.isEmpty, "\(ext): \(s.text)")
            #expect((s.json["verdict"] as? [String: Any])?["meaning"] as? String == "none found")
        }
        // WAV: ffmpeg writes no AIGC field there, so the test writes both forms LABELS.md names.
        try Self.ffmpeg(["-f", "lavfi", "-i", "sine=f=440:sample_rate=44100", "-t", "1", dir + "/plain.wav"])
        let plain = try [UInt8](Data(contentsOf: URL(fileURLWithPath: dir + "/plain.wav")))
        func chunk(_ id: String, _ body: [UInt8]) -> [UInt8] {
            let n = UInt32(body.count)
            return Array(id.utf8) + [UInt8(n & 0xFF), UInt8(n >> 8 & 0xFF), UInt8(n >> 16 & 0xFF), UInt8(n >> 24)] + body + (body.count % 2 == 1 ? [0] : [])
        }
        func riff(_ extra: [UInt8]) -> Data {
            let body = Array("WAVE".utf8) + plain[12...] + extra
            return Data(chunk("RIFF", body))
        }
        try riff(chunk("LIST", Array("INFO".utf8) + chunk("AIGC", Array(value.utf8) + [0]))).write(to: URL(fileURLWithPath: dir + "/info.wav"))
        try riff(chunk("AIGC", Array(value.utf8))).write(to: URL(fileURLWithPath: dir + "/chunk.wav"))
        #expect(try TestSupport.probeFormat(dir + "/info.wav").tags["AIGC"] == value, "ffprobe reads the INFO form")
        for (name, place) in [("info.wav", "WAV LIST/INFO"), ("chunk.wav", "RIFF chunk AIGC")] {
            let i = try Self.inspect([dir + "/" + name])
            #expect(i.tier == 1 && i.layer("aigc_metadata")?["place"] as? String == place, "\(name): \(i.text)")
        }
        let none = try Self.inspect([dir + "/plain.wav"])
        #expect(none.status == 1 && none.tier == nil)
        // Label 2 and 3 are taken at their word; malformed values are reported as such (tier 3).
        let cases: [(String, Int, Bool, String)] = [
            (Self.aigc(label: "2"), 2, true, ""), (Self.aigc(label: "3"), 3, true, ""),
            (#"{"AIGC":{"Label":"yes","ContentProducer":"x","ProduceID":"y"}}"#, 3, false, "Label is \"yes\""),
            (#"{"AIGC":{"Label":1,"ContentProducer":"x","ProduceID":"y","ReservedCode1":"","ContentPropagator":"x","PropagateID":"y","ReservedCode2":""}}"#, 3, false, "Label is not a string"),
            ("AI generated, trust me", 3, false, "not JSON"),
        ]
        for (n, (v, tier, wellFormed, problem)) in cases.enumerated() {
            let out = dir + "/case\(n).mkv"
            try Self.ffmpeg(["-f", "lavfi", "-i", "sine=f=440", "-t", "1", "-metadata", "AIGC=\(v)", out])
            let i = try Self.inspect([out])
            #expect(i.status == 0 && i.tier == tier, "\(v): \(i.text)")
            #expect(i.layer("aigc_metadata")?["well_formed"] as? Bool == wellFormed, "\(v)")
            if !problem.isEmpty {
                let problems = i.layer("aigc_metadata")?["problems"] as? [String] ?? []
                #expect(problems.contains { $0.contains(problem) }, "\(v): \(problems)")
            }
        }
        // The text report says the same in words.
        let text = try TestSupport.labelcast(["inspect", dir + "/ff.mkv"])
        #expect(text.status == 0 && text.stdoutText.hasPrefix("verdict: tier 1, declared AI-generated"), "\(text.stdoutText)")
    }

    /// Layers removed one by one from a labelcast output: the verdict falls as documented.
    @Test(.timeLimit(.minutes(4)))
    func removingLayersLowersTheVerdict() throws {
        let dir = try TestSupport.temporaryDirectory("labelcast-inspect-strip")
        let key = try Self.keyFile(dir)
        try Self.makeClip(dir + "/in.mp4", seconds: 5)
        let out = dir + "/out.mp4"
        let run = try TestSupport.labelcast(["run", "-q", "-i", dir + "/in.mp4", "-o", out, "--synthetic", "all", "--key-file", key, "--payload-id", "0x51"], timeout: 240)
        #expect(run.status == 0, "\(run.stderr)")
        let full = try Self.inspect([out, "--key-file", key])
        #expect(full.tier == 1 && full.layer("aigc_metadata") != nil && full.layer("audio_watermark") != nil && full.layer("video_watermark") != nil,
                "\(full.text)")
        // Tag stripped (the ffmpeg way): the watermarks alone say "possibly".
        let noTag = dir + "/notag.mp4"
        try Self.ffmpeg(["-i", out, "-map_metadata", "-1", "-map_chapters", "-1", "-c", "copy", noTag])
        let a = try Self.inspect([noTag, "--key-file", key])
        #expect(a.status == 0 && a.tier == 2 && a.layer("aigc_metadata") == nil, "\(a.text)")
        // Without the key the marks cannot be read: nothing found.
        let wrongKey = dir + "/other.key"
        try Data(repeating: 0x5A, count: 32).write(to: URL(fileURLWithPath: wrongKey))
        let b = try Self.inspect([noTag, "--key-file", wrongKey])
        #expect(b.status == 1 && b.tier == nil, "\(b.text)")
        // Audio replaced: the audio mark is gone, the video mark still says "possibly".
        let newAudio = dir + "/newaudio.mp4"
        try Self.ffmpeg(["-i", noTag, "-f", "lavfi", "-i", "sine=f=660:sample_rate=48000", "-map", "0:v", "-map", "1:a", "-c:v", "copy", "-c:a", "aac", "-shortest", newAudio])
        let c = try Self.inspect([newAudio, "--key-file", key])
        #expect(c.tier == 2 && c.layer("audio_watermark") == nil && c.layer("video_watermark") != nil, "\(c.text)")
        // The audio alone, replaced too: nothing left.
        let audioOnly = dir + "/audio.m4a"
        try Self.ffmpeg(["-i", newAudio, "-vn", "-c:a", "copy", audioOnly])
        let d = try Self.inspect([audioOnly, "--key-file", key])
        #expect(d.status == 1 && d.tier == nil, "\(d.text)")
        // And the marked audio alone, without its tag: the audio mark says "possibly".
        let markedAudio = dir + "/marked.m4a"
        try Self.ffmpeg(["-i", noTag, "-vn", "-c:a", "copy", markedAudio])
        let e = try Self.inspect([markedAudio, "--key-file", key])
        #expect(e.tier == 2 && e.layer("audio_watermark") != nil, "\(e.text)")
    }

    /// C2PA written by labelcast (embedded in MP4, sidecar beside MPEG-TS), validated by the
    /// reference implementation; a byte flipped in the media makes it fail validation, and the
    /// C2PA layer falls from 1 (declared) to 2 (a declaration that fails validation).
    @Test(.timeLimit(.minutes(5)))
    func c2paIsReadValidatedAndTamperingIsSeen() throws {
        let pki = try C2PATests.makePKI()
        let dir = try TestSupport.temporaryDirectory("labelcast-inspect-c2pa")
        let lib = try C2PATests.c2paPython() + "/c2pa/libs/libc2pa_c.so"
        let env = ["LABELCAST_C2PA_LIB": lib]
        try C2PATests.makeInput(dir + "/in.mp4", seconds: 3)
        for (ext, mode) in [("mp4", "embedded"), ("ts", "sidecar")] {
            let out = dir + "/out.\(ext)"
            let run = try TestSupport.labelcast(["run", "-q", "-i", dir + "/in.mp4", "-o", out, "--synthetic", "all", "--c2pa-cert", pki.chain, "--c2pa-key", pki.key],
                                                environment: env, timeout: 240)
            #expect(run.status == 0, "\(run.stderr)")
            let i = try Self.inspect([out, "--c2pa-trust", pki.root], environment: env)
            let c = try #require(i.layer("c2pa"), "\(ext): \(i.text)")
            let c2pa = c["c2pa"] as? [String: Any] ?? [:]
            #expect(c2pa["mode"] as? String == mode)
            #expect(c2pa["validation"] as? String == "trusted", "\(ext): \(c2pa)")
            #expect(c["tier"] as? Int == 1)
            let actions = c2pa["actions"] as? [[String: Any]] ?? []
            #expect(actions.contains { $0["action"] as? String == "c2pa.created" && $0["digitalSourceType"] as? String == C2PATests.trained }, "\(actions)")
            #expect((c2pa["signer"] as? [String: Any])?["common_name"] as? String == "labelcast signer", "\(c2pa["signer"] ?? "")")
            // The oracle: c2pa-python's Reader agrees on the state.
            let v = try C2PATests.verify(out, format: ext == "mp4" ? "video/mp4" : "video/mp2t", trust: pki.root, sidecar: ext == "ts" ? dir + "/out.c2pa" : nil)
            #expect(v.state == "Trusted", "\(v.state)")
            // Without the trust anchors the manifest still verifies, its signer not on a list.
            let untrusted = try Self.inspect([out], environment: env)
            #expect((untrusted.layer("c2pa")?["c2pa"] as? [String: Any])?["validation"] as? String == "valid", "\(untrusted.text)")
            #expect(untrusted.layer("c2pa")?["tier"] as? Int == 1)
            // One byte of media flipped: the hash no longer matches.
            var bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: out)))
            let at = ext == "mp4" ? (C2PATests.mdatPayloadOffset(bytes) ?? 0) + 2000 : bytes.count / 2
            bytes[at] ^= 0xFF
            let tampered = dir + "/tampered.\(ext)"
            try Data(bytes).write(to: URL(fileURLWithPath: tampered))
            if ext == "ts" { try FileManager.default.copyItem(atPath: dir + "/out.c2pa", toPath: dir + "/tampered.c2pa") }
            let t = try Self.inspect([tampered, "--c2pa-trust", pki.root], environment: env)
            let tc = try #require(t.layer("c2pa"), "\(ext): \(t.text)")
            #expect((tc["c2pa"] as? [String: Any])?["validation"] as? String == "invalid", "\(ext): \(tc)")
            let failures = (tc["c2pa"] as? [String: Any])?["failures"] as? [String] ?? []
            #expect(failures.contains { $0.hasSuffix("Hash.mismatch") }, "\(failures)")
            #expect(tc["tier"] as? Int == 2, "\(tc)")
            let vt = try C2PATests.verify(tampered, format: ext == "mp4" ? "video/mp4" : "video/mp2t", trust: pki.root, sidecar: ext == "ts" ? dir + "/tampered.c2pa" : nil)
            #expect(vt.state != "Trusted" && vt.state != "Valid", "the reference reader: \(vt.state)")
        }
    }

    /// A live input (MPEG-TS over UDP from ffmpeg in real time): a bounded window is read over
    /// one socket and the timed ID3 and watermark are found in it.
    @Test(.timeLimit(.minutes(4)))
    func aLiveInputIsReadForItsWindow() throws {
        let dir = try TestSupport.temporaryDirectory("labelcast-inspect-live")
        let key = try Self.keyFile(dir)
        try Self.makeClip(dir + "/in.mp4", seconds: 12)
        let ts = dir + "/marked.ts"
        let run = try TestSupport.labelcast(["run", "-q", "-i", dir + "/in.mp4", "-o", ts, "--synthetic", "all", "--key-file", key, "--payload-id", "0x77"], timeout: 240)
        #expect(run.status == 0, "\(run.stderr)")
        let port = LiveServers.freePort()
        let url = "udp://127.0.0.1:\(port)"
        // inspect listens first (a UDP input is a bound socket), the sender starts after.
        nonisolated(unsafe) var result: Result<TestSupport.ProcessResult, any Error>?
        let done = DispatchSemaphore(value: 0)
        DispatchQueue.global().async {
            result = Result { try TestSupport.labelcast(["inspect", "--json", url, "--duration", "9", "--key-file", key], timeout: 60) }
            done.signal()
        }
        Thread.sleep(forTimeInterval: 0.5)
        let sender = try LiveServers.Background(try TestSupport.which("ffmpeg"), ["-v", "error", "-re", "-i", ts, "-map", "0", "-c", "copy", "-f", "mpegts", url + "?pkt_size=1316"],
                                                log: dir + "/sender.log")
        defer { _ = sender.stop(SIGKILL) }
        done.wait()
        let r = try #require(try result?.get())
        #expect(r.status == 0, "\(r.stderr)")
        let out = r.stdoutText
        let json = try #require(try JSONSerialization.jsonObject(with: Data(out.utf8)) as? [String: Any], "\(out)")
        try Self.validateSchema(Data(out.utf8))
        let i = Inspection(status: 0, text: out, json: json)
        #expect(json["windowed"] as? Bool == true)
        #expect(i.tier == 1, "\(out)")
        let place = i.layer("aigc_metadata")?["place"] as? String ?? ""
        #expect(place.hasPrefix("MPEG-TS timed ID3"), "\(place)")
        #expect(Inspection.ranges(i.layer("video_watermark")).contains { $0.payload == "0x00000077" }, "\(out)")
        // The window's media (9 s less the sender's start-up), not the whole 12 s file.
        let duration = json["duration"] as? Double ?? 0
        #expect(duration > 4 && duration < 9.5, "\(duration)")
    }

    /// An RTMP play (nginx-rtmp relaying a labelcast FLV published by ffmpeg in real time):
    /// the window is read over one connection; onMetaData's AIGC and both marks are found.
    @Test(.timeLimit(.minutes(4)))
    func anRTMPStreamIsReadForItsWindow() throws {
        let dir = try TestSupport.temporaryDirectory("labelcast-inspect-rtmp")
        let key = try Self.keyFile(dir)
        try Self.makeClip(dir + "/in.mp4", seconds: 14)
        let flv = dir + "/marked.flv"
        let run = try TestSupport.labelcast(["run", "-q", "-i", dir + "/in.mp4", "-o", flv, "--synthetic", "all", "--key-file", key, "--payload-id", "0x88"], timeout: 240)
        #expect(run.status == 0, "\(run.stderr)")
        // `meta copy`: nginx-rtmp otherwise sends players its own onMetaData, without AIGC.
        let nginx = try LiveServers.NginxRTMP(dir: dir + "/nginx", ingest: "meta copy;")
        defer { nginx.stop() }
        let url = nginx.url("ingest", "inspect-key-secret")
        let publisher = try LiveServers.Background(try TestSupport.which("ffmpeg"), ["-v", "error", "-re", "-i", flv, "-c", "copy", "-f", "flv", url],
                                                   log: dir + "/publisher.log")
        defer { _ = publisher.stop(SIGKILL) }
        Thread.sleep(forTimeInterval: 1.5)
        let r = try TestSupport.labelcast(["inspect", "--json", url, "--duration", "8", "--key-file", key], timeout: 60)
        #expect(r.status == 0, "\(r.stderr) \(publisher.log)")
        try Self.validateSchema(r.stdout)
        let json = try JSONSerialization.jsonObject(with: r.stdout) as? [String: Any] ?? [:]
        let i = Inspection(status: r.status, text: r.stdoutText, json: json)
        #expect(json["windowed"] as? Bool == true && json["container"] as? String == "flv", "\(i.text)")
        #expect(i.layer("aigc_metadata")?["place"] as? String == "FLV onMetaData" && i.tier == 1, "\(i.text)")
        #expect(Inspection.ranges(i.layer("video_watermark")).contains { $0.payload == "0x00000088" }, "\(i.text)")
        #expect(Inspection.ranges(i.layer("audio_watermark")).contains { $0.payload == "0x00000088" }, "\(i.text)")
        // The stream key is a secret: the report names the stream without it.
        #expect(!i.text.contains("inspect-key-secret"), "\(json["input"] ?? "")")
    }

    /// Bad inputs: one line on stderr naming the problem, exit 2 or more, nothing left behind.
    @Test(.timeLimit(.minutes(2)))
    func badInputsAreOneLineErrors() throws {
        let dir = try TestSupport.temporaryDirectory("labelcast-inspect-bad")
        try Data((0..<50_000).map { UInt8(truncatingIfNeeded: $0 &* 2_654_435_761 >> 7) }).write(to: URL(fileURLWithPath: dir + "/garbage.mp4"))
        try Data().write(to: URL(fileURLWithPath: dir + "/empty.mkv"))
        try TestSupport.makeMedia(dir + "/whole.mp4", seconds: 2, extra: ["-c:v", "libx264", "-preset", "ultrafast"])
        let whole = try Data(contentsOf: URL(fileURLWithPath: dir + "/whole.mp4"))
        try whole.prefix(whole.count / 2).write(to: URL(fileURLWithPath: dir + "/truncated.mp4"))
        let tmpBefore = TestSupport.files(in: NSTemporaryDirectory()).filter { $0.hasPrefix("labelcast-inspect-") && $0.hasSuffix(".spool") }
        let cases: [([String], Data?, String)] = [
            ([dir + "/missing.mp4"], nil, "does not exist"),
            ([dir + "/garbage.mp4"], nil, "not a media file"),
            ([dir + "/empty.mkv"], nil, "empty.mkv"),
            ([dir + "/truncated.mp4"], nil, "truncated.mp4"),
            ([dir], nil, "is a folder"),
            (["-"], Data(), "standard input is empty"),
            (["-"], Data(repeating: 0x47, count: 4096), "not a media file"),
            (["rtmp://127.0.0.1:1/app/stream-key-secret", "--duration", "3"], nil, "rtmp://127.0.0.1:1/app/"),
            ([dir + "/whole.mp4", "--duration", "-3"], nil, "--duration"),
            ([dir + "/whole.mp4", "--key-file", dir + "/nokey"], nil, "--key-file"),
            ([dir + "/whole.mp4", "--c2pa-trust", dir + "/garbage.mp4"], nil, "--c2pa-trust"),
        ]
        for (args, stdin, words) in cases {
            let r = try TestSupport.labelcast(["inspect"] + args, stdin: stdin, timeout: 60)
            #expect(r.status >= 2, "\(args): \(r.status) \(r.stdoutText)")
            #expect(r.errorLines.count == 1, "\(args): \(r.stderr)")
            #expect(r.stderr.contains(words), "\(args): \(r.stderr)")
            #expect(r.stdout.isEmpty, "\(args): \(r.stdoutText)")
            #expect(!r.stderr.contains("stream-key-secret"), "a stream key in an error: \(r.stderr)")
        }
        let tmpAfter = TestSupport.files(in: NSTemporaryDirectory()).filter { $0.hasPrefix("labelcast-inspect-") && $0.hasSuffix(".spool") }
        #expect(tmpAfter == tmpBefore, "temporary copies left behind: \(Set(tmpAfter).subtracting(tmpBefore))")
        #expect(TestSupport.files(in: dir).sorted() == ["empty.mkv", "garbage.mp4", "truncated.mp4", "whole.mp4"])
    }

    /// `labelcast serve`: uploads answered with inspect's JSON, behind the token; bounded body,
    /// concurrency limit (429), bad media a 422 after which the service still serves; no upload
    /// left on disk. curl is the client.
    @Test(.timeLimit(.minutes(4)))
    func theServiceAnswersUploadsWithinItsLimits() throws {
        let dir = try TestSupport.temporaryDirectory("labelcast-inspect-serve")
        let key = try Self.keyFile(dir)
        let token = "serve-test-token-1"
        try TestSupport.makeMedia(dir + "/in.mp4", seconds: 3, video: "testsrc2=size=320x240:rate=25", extra: ["-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac"])
        let run = try TestSupport.labelcast(["run", "-q", "-i", dir + "/in.mp4", "-o", dir + "/out.mp4", "--synthetic", "all", "--key-file", key], timeout: 240)
        #expect(run.status == 0, "\(run.stderr)")
        try Data((0..<3_000_000).map { UInt8(truncatingIfNeeded: $0 &* 7919) }).write(to: URL(fileURLWithPath: dir + "/big.bin"))
        try Data("not media at all".utf8).write(to: URL(fileURLWithPath: dir + "/garbage.bin"))
        let uploadsBefore = TestSupport.files(in: NSTemporaryDirectory()).filter { $0.hasSuffix(".upload") }
        let port = LiveServers.freePort()
        let server = try LiveServers.Background(TestSupport.labelcastBinary, ["serve", "--listen", "127.0.0.1:\(port)", "--control-token", token,
                                                                            "--key-file", key, "--max-concurrent", "1", "--max-upload-mib", "2"],
                                                log: dir + "/serve.log")
        defer { _ = server.stop(SIGKILL) }
        let base = "http://127.0.0.1:\(port)"
        #expect(LiveRTMPTests.waitUntil(20) { (try? LiveServers.http("GET", base + "/healthz").status) == 200 }, "\(server.log)")
        @Sendable func post(_ file: String?, query: String = "", auth: Bool = true) throws -> (status: Int, body: Data) {
            let out = dir + "/answer-\(UUID().uuidString.prefix(6)).json"
            var args = ["-s", "-o", out, "-w", "%{http_code}", "-X", "POST"]
            if let file { args += ["--data-binary", "@" + file, "-H", "Content-Type: application/octet-stream"] }
            if auth { args += ["-H", "Authorization: Bearer \(token)"] }
            let r = try TestSupport.run("curl", args + [base + "/v1/inspect" + query], timeout: 120)
            let body = (try? Data(contentsOf: URL(fileURLWithPath: out))) ?? Data()
            try? FileManager.default.removeItem(atPath: out)
            return (Int(r.stdoutText) ?? 0, body)
        }
        #expect(try post(dir + "/out.mp4", auth: false).status == 401)
        let ok = try post(dir + "/out.mp4")
        #expect(ok.status == 200, "\(String(decoding: ok.body, as: UTF8.self))")
        try Self.validateSchema(ok.body)
        let report = try JSONSerialization.jsonObject(with: ok.body) as? [String: Any] ?? [:]
        #expect((report["verdict"] as? [String: Any])?["tier"] as? Int == 1, "\(report)")
        #expect(report["input"] as? String == "upload")
        // The same layers as the CLI's report of the same file.
        let cli = try Self.inspect([dir + "/out.mp4", "--key-file", key])
        #expect((report["layers"] as? [[String: Any]] ?? []).map { $0["kind"] as? String } == cli.layers.map { $0["kind"] as? String })
        let bad = try post(dir + "/garbage.bin")
        #expect(bad.status == 422, "\(String(decoding: bad.body, as: UTF8.self))")
        #expect(!String(decoding: bad.body, as: UTF8.self).contains(NSTemporaryDirectory()), "the temporary path leaks")
        #expect(try post(dir + "/big.bin").status == 413)
        // ?url= is off unless the operator turns it on (ServeURLTests has the rest).
        #expect(try post(nil, query: "?url=file:///etc/passwd").status == 403)
        // Three at once against a limit of one: one is served, the others are told to retry.
        nonisolated(unsafe) var statuses: [Int] = []
        let lock = NSLock()
        DispatchQueue.concurrentPerform(iterations: 3) { _ in
            let s = (try? post(dir + "/out.mp4").status) ?? -1
            lock.withLock { statuses.append(s) }
        }
        #expect(statuses.contains(200) && statuses.contains(429) && statuses.allSatisfy { $0 == 200 || $0 == 429 }, "\(statuses)")
        #expect((try? LiveServers.http("GET", base + "/healthz").status) == 200, "the service stopped serving: \(server.log)")
        let metrics = try LiveServers.http("GET", base + "/metrics")
        #expect(metrics.body.contains("labelcast_inspect_requests_total{result=\"busy\"}"), "\(metrics.body)")
        // Past --timeout: 504 at once; the inspection finishes on its own and removes the upload.
        let slowPort = LiveServers.freePort()
        let slow = try LiveServers.Background(TestSupport.labelcastBinary, ["serve", "--listen", "127.0.0.1:\(slowPort)", "--control-token", token,
                                                                          "--key-file", key, "--timeout", "0.2"], log: dir + "/serve-slow.log")
        defer { _ = slow.stop(SIGKILL) }
        #expect(LiveRTMPTests.waitUntil(20) { (try? LiveServers.http("GET", "http://127.0.0.1:\(slowPort)/healthz").status) == 200 }, "\(slow.log)")
        let timedOut = try TestSupport.run("curl", ["-s", "-o", "/dev/null", "-w", "%{http_code}", "--data-binary", "@" + dir + "/out.mp4",
                                                    "-H", "Authorization: Bearer \(token)", "http://127.0.0.1:\(slowPort)/v1/inspect"])
        #expect(timedOut.stdoutText == "504", "\(timedOut.stdoutText)")
        #expect(LiveRTMPTests.waitUntil(60) {
            TestSupport.files(in: NSTemporaryDirectory()).filter { $0.hasSuffix(".upload") } == uploadsBefore
        }, "the timed-out upload was not removed")
        let uploadsAfter = TestSupport.files(in: NSTemporaryDirectory()).filter { $0.hasSuffix(".upload") }
        #expect(uploadsAfter == uploadsBefore, "uploads left on disk: \(Set(uploadsAfter).subtracting(uploadsBefore))")
        #expect(!server.log.contains(token), "the token appears in the log")
    }
}
