import Foundation
import Testing
import TestSupport

/// Reordered and spliced segments in a signed HLS-fMP4 playlist (issue 19): c2pa-rs validates
/// each media segment alone against the init segment's Merkle map, so a swapped pair or a
/// segment of another signed run still validates one by one. `labelcast inspect` on the
/// playlist compares each segment's declared place (its C2PA Merkle box) with where the
/// playlist lists it, and reports the C2PA layer invalid (tier 2, like a hash mismatch).
@Suite(.serialized) struct C2PASegmentOrderTests {
    /// c2pa-python fed the fragments in the order given to one Reader (`with_fragment` chained):
    /// the state and failure codes.
    static let chainedScript = """
    import json, sys
    import c2pa
    init, root = sys.argv[1:3]
    settings = c2pa.Settings.from_json(json.dumps({"trust": {"trust_anchors": open(root).read()}, "verify": {"verify_trust": True}}))
    with open(init, "rb") as f:
        reader = c2pa.Reader("video/mp4", f, context=c2pa.Context(settings))
        for fragment in sys.argv[3:]:
            with open(fragment, "rb") as g:
                reader.with_fragment("video/mp4", f, g)
        d = json.loads(reader.json())
    r = d.get("validation_results", {}).get("activeManifest", {})
    print(json.dumps({"state": d.get("validation_state"), "failure": [x["code"] for x in r.get("failure", [])]}))
    """

    static func signRun(_ dir: String, input: String, pki: C2PATests.PKI) throws -> [String] {
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let r = try C2PATests().sign(["-i", input, "-o", dir + "/out.m3u8", "--synthetic", "all", "--muxer-opt", "hls_segment_type=fmp4",
                                      "--muxer-opt", "hls_time=1", "--gop", "1"], pki: pki)
        guard r.status == 0 else { throw TestFailure("signing into \(dir) failed: \(r.stderr)") }
        return try C2PASegmentedTests.listed(dir + "/out.m3u8")
    }

    /// A copy of `from` with the playlist's segment lines replaced by `listed`.
    static func variant(of from: String, _ name: String, listed: [String]) throws -> String {
        let dir = from + "-" + name
        try? FileManager.default.removeItem(atPath: dir)
        try FileManager.default.copyItem(atPath: from, toPath: dir)
        var uris = listed.makeIterator()
        let lines = try String(contentsOfFile: from + "/out.m3u8", encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false).compactMap { line -> String? in
            guard !line.isEmpty, !line.hasPrefix("#") else { return String(line) }
            return uris.next()  // nil drops the segment (its #EXTINF stays: read as a segment without a URI, ignored)
        }
        try lines.joined(separator: "\n").write(toFile: dir + "/out.m3u8", atomically: true, encoding: .utf8)
        return dir
    }

    static func c2paLayer(_ dir: String, trust: String) throws -> (layer: [String: Any], findings: [String: Any]) {
        let i = try InspectTests.inspect([dir + "/out.m3u8", "--c2pa-trust", trust])
        let layers = (i.json["layers"] as? [[String: Any]] ?? []).filter { $0["kind"] as? String == "c2pa" }
        guard layers.count == 1, let findings = layers[0]["c2pa"] as? [String: Any] else { throw TestFailure("not one C2PA layer: \(i.text)") }
        return (layers[0], findings)
    }

    @Test func swappedForeignMissingAndRepeatedSegmentsAreReported() throws {
        let pki = try C2PATests.makePKI()
        let dir = try TestSupport.temporaryDirectory("labelcast-c2pa-order")
        try C2PATests.makeInput(dir + "/in.mp4", seconds: 4)
        let segs = try Self.signRun(dir + "/a", input: dir + "/in.mp4", pki: pki)
        let other = try Self.signRun(dir + "/b", input: dir + "/in.mp4", pki: pki)
        try #require(segs.count >= 4 && other.count >= 4, "\(segs) \(other)")

        // Intact: valid and trusted, every segment in place.
        let intact = try Self.c2paLayer(dir + "/a", trust: pki.root)
        #expect(intact.findings["mode"] as? String == "segmented" && intact.findings["validation"] as? String == "trusted", "\(intact.layer)")
        #expect((intact.findings["sequence_problems"] as? [String]) == [], "\(intact.findings)")
        #expect(intact.layer["tier"] as? Int == 1, "\(intact.layer)")
        #expect((intact.findings["segments"] as? [[String: Any]])?.map { $0["location"] as? Int } == Array(0..<segs.count), "\(intact.findings)")

        // Two segments swapped in the playlist.
        var swappedList = segs
        swappedList.swapAt(1, 2)
        let swapped = try Self.variant(of: dir + "/a", "swapped", listed: swappedList)
        let s = try Self.c2paLayer(swapped, trust: pki.root)
        #expect(s.findings["validation"] as? String == "invalid" && s.layer["tier"] as? Int == 2, "\(s.layer)")
        #expect(s.findings["failures"] as? [String] == ["labelcast.segment.reordered"], "\(s.findings)")
        #expect(s.findings["sequence_problems"] as? [String] == ["positions 1 and 2 are swapped: '\(segs[2])' is segment 2 and '\(segs[1])' is segment 1"], "\(s.findings)")
        // The reference implementation: each segment alone is valid, and fed in the swapped
        // order to one Reader it still says Trusted (it has no sequence check).
        for v in try C2PASegmentedTests.verify(initSegment: swapped + "/out_init.mp4", fragments: swappedList.map { swapped + "/" + $0 }, trust: pki.root) {
            #expect(v.state == "Trusted" && v.failure.isEmpty, "\(v.fragment): \(v.state) \(v.failure)")
        }
        let script = NSTemporaryDirectory() + "labelcast-c2pa-chained.py"
        try Self.chainedScript.write(toFile: script, atomically: true, encoding: .utf8)
        let chained = try TestSupport.run("python3", [script, swapped + "/out_init.mp4", pki.root] + swappedList.map { swapped + "/" + $0 },
                                          environment: ["PYTHONPATH": try C2PATests.c2paPython()])
        #expect(chained.status == 0 && chained.stdoutText.contains(#""state": "Trusted""#) && chained.stdoutText.contains(#""failure": []"#), "\(chained.stdoutText) \(chained.stderr)")

        // One segment replaced by the same-numbered segment of another signed run.
        let spliced = try Self.variant(of: dir + "/a", "spliced", listed: segs)
        try FileManager.default.removeItem(atPath: spliced + "/" + segs[2])
        try FileManager.default.copyItem(atPath: dir + "/b/" + other[2], toPath: spliced + "/" + segs[2])
        let f = try Self.c2paLayer(spliced, trust: pki.root)
        #expect(f.findings["validation"] as? String == "invalid" && f.layer["tier"] as? Int == 2, "\(f.layer)")
        let problems = f.findings["sequence_problems"] as? [String] ?? []
        #expect(problems.count == 1 && problems[0].hasPrefix("position 2 ('\(segs[2])') is not in this manifest"), "\(problems)")
        #expect((f.findings["failures"] as? [String])?.first == "labelcast.segment.foreign", "\(f.findings)")
        // That segment is valid with its own run's init segment.
        let own = try C2PASegmentedTests.verify(initSegment: dir + "/b/out_init.mp4", fragments: [spliced + "/" + segs[2]], trust: pki.root)
        #expect(own.first?.state == "Trusted", "\(own.map { ($0.state, $0.failure) })")

        // The last segment dropped from a finished playlist; a segment listed twice.
        let cut = try Self.c2paLayer(try Self.variant(of: dir + "/a", "cut", listed: Array(segs.dropLast())), trust: pki.root)
        #expect(cut.findings["sequence_problems"] as? [String] == ["1 signed segment is not listed: \(segs.count - 1)"], "\(cut.findings)")
        var repeated = segs
        repeated[3] = segs[2]
        let rep = try Self.c2paLayer(try Self.variant(of: dir + "/a", "repeated", listed: repeated), trust: pki.root)
        #expect(rep.findings["sequence_problems"] as? [String] == ["position 3 ('\(segs[2])') repeats segment 2, already listed at position 2"]
                    + ["1 signed segment is not listed: 3"], "\(rep.findings)")
    }

    /// The `c2pa` span of the run report: per media segment the mux-queue step (Merkle box) and
    /// the SHA-256 (on the signer's own queue), and the init segment's signing, one entry each.
    @Test func theRunReportCarriesTheC2PASpanPerSegment() throws {
        let pki = try C2PATests.makePKI()
        let dir = try TestSupport.temporaryDirectory("labelcast-c2pa-span")
        try C2PATests.makeInput(dir + "/in.mp4", seconds: 3)
        let r = try C2PATests().sign(["-i", dir + "/in.mp4", "-o", dir + "/out.m3u8", "--synthetic", "all", "--muxer-opt", "hls_segment_type=fmp4",
                                      "--muxer-opt", "hls_time=1", "--gop", "1", "--metrics-json", dir + "/m.json"], pki: pki)
        #expect(r.status == 0, "\(r.stderr)")
        let segments = try C2PASegmentedTests.listed(dir + "/out.m3u8")
        let report = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir + "/m.json"))) as? [String: Any])
        let span = try #require((report["latency"] as? [String: Any])?["c2pa"] as? [String: [String: Any]], "\(report["latency"] ?? "none")")
        #expect((span["segment_mux"]?["count"] as? Int) == segments.count, "\(span)")
        #expect((span["segment_hash"]?["count"] as? Int) == segments.count, "\(span)")
        #expect((span["init_sign"]?["count"] as? Int) == 1 && (span["init_sign"]?["max"] as? Int ?? 0) > 0, "\(span)")
        let c2pa = try #require(report["c2pa"] as? [String: Any])
        #expect((c2pa["segment_hash_micros_mean"] as? Double ?? 0) > 0, "\(c2pa)")
        // A run without signing has no c2pa span.
        let plain = try TestSupport.labelcast(["run", "-q", "-i", dir + "/in.mp4", "-o", dir + "/plain.mp4", "--synthetic", "all", "--metrics-json", dir + "/p.json"])
        #expect(plain.status == 0, "\(plain.stderr)")
        let p = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir + "/p.json"))) as? [String: Any]
        #expect((p?["latency"] as? [String: Any])?["c2pa"] == nil)
    }
}
