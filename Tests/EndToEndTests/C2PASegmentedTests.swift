import Foundation
import Testing
import TestSupport

/// Signed provenance on segmented outputs (issue 19): `labelcast run --c2pa-cert/--c2pa-key`
/// with HLS-fMP4 or DASH output signs each rendition's init segment with a manifest whose
/// Merkle map covers that rendition's media segments. The reference implementation
/// (c2pa-python's `Reader`, then `with_fragment`) validates the init segment with each media
/// segment, trusting only the test's root CA.
@Suite(.serialized) struct C2PASegmentedTests {
    /// One line of JSON per fragment: its name, the validation state, failure and success
    /// codes, and the actions of the active manifest.
    static let fragmentScript = """
    import json, sys
    import c2pa
    init, root = sys.argv[1:3]
    settings = c2pa.Settings.from_json(json.dumps({"trust": {"trust_anchors": open(root).read()}, "verify": {"verify_trust": True}}))
    for fragment in sys.argv[3:]:
        try:
            with open(init, "rb") as f, open(fragment, "rb") as g:
                reader = c2pa.Reader("video/mp4", f, context=c2pa.Context(settings))
                reader.with_fragment("video/mp4", f, g)
                d = json.loads(reader.json())
            r = d.get("validation_results", {}).get("activeManifest", {})
            m = d["manifests"][d["active_manifest"]]
            actions = [a for x in m["assertions"] if x["label"].startswith("c2pa.actions") for a in x["data"]["actions"]]
            print(json.dumps({"fragment": fragment, "state": d.get("validation_state"),
                              "failure": [x["code"] for x in r.get("failure", [])], "success": [x["code"] for x in r.get("success", [])],
                              "actions": [[a["action"], a.get("digitalSourceType", "")] for a in actions]}))
        except Exception as e:
            print(json.dumps({"fragment": fragment, "state": "error", "failure": [type(e).__name__ + ": " + str(e)], "success": [], "actions": []}))
    """

    struct FragmentVerdict {
        let fragment: String
        let state: String
        let failure: [String]
        let success: [String]
        let actions: [[String]]
    }

    static func verify(initSegment: String, fragments: [String], trust: String) throws -> [FragmentVerdict] {
        let deps = try C2PATests.c2paPython()
        let script = NSTemporaryDirectory() + "labelcast-c2pa-fragments.py"
        try fragmentScript.write(toFile: script, atomically: true, encoding: .utf8)
        let r = try TestSupport.run("python3", [script, initSegment, trust] + fragments, environment: ["PYTHONPATH": deps])
        guard r.status == 0 else { throw TestFailure("c2pa Reader failed: \(r.stderr) \(r.stdoutText)") }
        return try r.stdoutText.split(separator: "\n").map { line in
            guard let j = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else { throw TestFailure("not JSON: \(line)") }
            return FragmentVerdict(fragment: j["fragment"] as? String ?? "", state: j["state"] as? String ?? "",
                                   failure: j["failure"] as? [String] ?? [], success: j["success"] as? [String] ?? [],
                                   actions: j["actions"] as? [[String]] ?? [])
        }
    }

    /// The media segments a playlist lists, in order.
    static func listed(_ playlist: String) throws -> [String] {
        try String(contentsOfFile: playlist, encoding: .utf8).split(separator: "\n").map(String.init).filter { !$0.isEmpty && !$0.hasPrefix("#") }
    }

    static func flipMediaByte(_ path: String) throws {
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        let at = try #require(C2PATests.mdatPayloadOffset(bytes)) + 100
        bytes[at] ^= 0x01
        try Data(bytes).write(to: URL(fileURLWithPath: path))
    }

    @Test func hlsFMP4InitSegmentBindsEveryFragmentAndAFlippedByteIsCaught() throws {
        let pki = try C2PATests.makePKI()
        let dir = try TestSupport.temporaryDirectory("labelcast-c2pa-hls")
        try C2PATests.makeInput(dir + "/in.mp4", seconds: 4)
        let r = try C2PATests().sign(["-i", dir + "/in.mp4", "-o", dir + "/out.m3u8", "--segments", "1-2.5",
                                      "--muxer-opt", "hls_segment_type=fmp4", "--muxer-opt", "hls_time=1", "--gop", "1"], pki: pki)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stderr.contains("1 init segment(s) binding"), "\(r.stderr)")
        let segments = try Self.listed(dir + "/out.m3u8").map { dir + "/" + $0 }
        #expect(segments.count >= 4, "\(segments)")
        let verdicts = try Self.verify(initSegment: dir + "/out_init.mp4", fragments: segments, trust: pki.root)
        #expect(verdicts.count == segments.count)
        for v in verdicts {
            #expect(v.state == "Trusted" && v.failure.isEmpty, "\(v.fragment): \(v.state) \(v.failure)")
            #expect(v.success.contains("assertion.bmffHash.match") && v.success.contains("claimSignature.validated"), "\(v.fragment): \(v.success)")
            #expect(v.actions.contains(["c2pa.edited", C2PATests.composite]), "\(v.fragment): \(v.actions)")
        }
        // The appended Merkle boxes do not disturb a player: the whole playlist decodes.
        let decode = try TestSupport.run("ffmpeg", ["-v", "error", "-i", dir + "/out.m3u8", "-f", "null", "-"])
        #expect(decode.status == 0 && decode.stderr.isEmpty, "\(decode.stderr)")

        // One byte of one fragment's media data flipped: that fragment fails, the others do not.
        try Self.flipMediaByte(segments[1])
        let after = try Self.verify(initSegment: dir + "/out_init.mp4", fragments: segments, trust: pki.root)
        for (i, v) in after.enumerated() {
            if i == 1 {
                #expect(v.state == "Invalid" && v.failure.contains("assertion.bmffHash.mismatch"), "\(v.fragment): \(v.state) \(v.failure)")
            } else {
                #expect(v.state == "Trusted", "\(v.fragment): \(v.state) \(v.failure)")
            }
        }
        // A changed init segment fails with every fragment.
        var initBytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: dir + "/out_init.mp4")))
        initBytes[initBytes.count - 20] ^= 0x01
        try Data(initBytes).write(to: URL(fileURLWithPath: dir + "/out_init.mp4"))
        let tampered = try Self.verify(initSegment: dir + "/out_init.mp4", fragments: [segments[0]], trust: pki.root)
        #expect(tampered.first?.failure.contains("assertion.bmffHash.mismatch") == true, "\(tampered.map(\.failure))")
    }

    /// DASH (and low-latency CMAF, several moof/mdat pairs per segment): one manifest per
    /// representation; a segment checked against another representation's init segment fails.
    @Test(arguments: [false, true])
    func dashRepresentationsAreSignedEachWithItsOwnSegments(lowLatency: Bool) throws {
        let pki = try C2PATests.makePKI()
        let dir = try TestSupport.temporaryDirectory("labelcast-c2pa-dash")
        try C2PATests.makeInput(dir + "/in.mp4", seconds: 3)
        let r = try C2PATests().sign(["-i", dir + "/in.mp4", "-o", dir + "/out.mpd", "--synthetic", "all", "--gop", "1"] + (lowLatency ? ["--cmaf-ll"] : []), pki: pki)
        #expect(r.status == 0, "\(r.stderr)")
        let files = try FileManager.default.contentsOfDirectory(atPath: dir)
        for rep in ["0", "1"] {
            let initSegment = dir + "/out-\(rep)-init.m4s"
            let segments = files.filter { $0.hasPrefix("out-\(rep)-") && $0.hasSuffix(".m4s") && !$0.contains("-init.") }.sorted().map { dir + "/" + $0 }
            #expect(!segments.isEmpty, "representation \(rep): \(files)")
            for v in try Self.verify(initSegment: initSegment, fragments: segments, trust: pki.root) {
                #expect(v.state == "Trusted" && v.failure.isEmpty, "\(v.fragment): \(v.state) \(v.failure)")
                #expect(v.actions.contains(["c2pa.created", C2PATests.trained]), "\(v.fragment): \(v.actions)")
            }
        }
        let other = files.filter { $0.hasPrefix("out-1-") && $0.hasSuffix(".m4s") && !$0.contains("-init.") }.sorted().map { dir + "/" + $0 }
        let crossed = try Self.verify(initSegment: dir + "/out-0-init.m4s", fragments: Array(other.prefix(1)), trust: pki.root)
        #expect(crossed.first?.state != "Trusted" && crossed.first?.state != "Valid", "\(crossed.map { ($0.state, $0.failure) })")
    }

    @Test func hlsWithTransportStreamSegmentsIsRefused() throws {
        let pki = try C2PATests.makePKI()
        let dir = try TestSupport.temporaryDirectory("labelcast-c2pa-hlsts")
        try C2PATests.makeInput(dir + "/in.mp4", seconds: 1)
        try FileManager.default.createDirectory(atPath: dir + "/out", withIntermediateDirectories: true)
        let r = try C2PATests().sign(["-i", dir + "/in.mp4", "-o", dir + "/out/o.m3u8", "--synthetic", "all"], pki: pki)
        #expect(r.status == 2, "\(r.stderr)")
        #expect(r.stderr.contains("MPEG-TS segments") && r.stderr.contains("hls_segment_type=fmp4"), "\(r.stderr)")
        #expect(r.stderr.split(separator: "\n").count == 1, "\(r.stderr)")
        #expect(TestSupport.files(in: dir + "/out").isEmpty, "left behind: \(TestSupport.files(in: dir + "/out"))")
    }
}
