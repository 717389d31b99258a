import Foundation
import Testing
import TestSupport

/// `--synthetic auto` acting on a C2PA declaration (issue 20): a file without an AIGC field,
/// signed by the reference implementation itself (c2pa-python's Builder, an independent
/// writer) with a manifest whose action names the IPTC `trainedAlgorithmicMedia` source type,
/// is labeled whole; the same file unsigned is not.
@Suite struct C2PAAutoTests {
    static let script = """
    import sys, json, c2pa
    src, dst, chain, key = sys.argv[1:5]
    manifest = {"claim_generator_info": [{"name": "a generation tool", "version": "1"}],
                "assertions": [{"label": "c2pa.actions.v2", "data": {"actions": [{"action": "c2pa.created",
                  "digitalSourceType": "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"}]}}]}
    signer = c2pa.Signer.from_info(c2pa.C2paSignerInfo(b"es256", open(chain).read().encode(), open(key).read().encode(), None))
    with c2pa.Builder(json.dumps(manifest)) as b, open(src, "rb") as s, open(dst, "wb") as d:
        b.sign(signer, "video/mp4", s, d)
    """

    @Test func aManifestDeclaringAIOriginIsLabeledWhole() throws {
        let dir = try TestSupport.temporaryDirectory()
        let plain = dir + "/plain.mp4", signed = dir + "/signed.mp4"
        try TestSupport.makeMedia(plain, seconds: 2, video: "mandelbrot=size=320x180:rate=25", audio: "sine=frequency=500:sample_rate=48000",
                                  extra: ["-c:v", "libx264", "-c:a", "aac"])
        let pki = try C2PATests.makePKI()
        try Self.script.write(toFile: dir + "/sign.py", atomically: true, encoding: .utf8)
        let s = try TestSupport.run("python3", [dir + "/sign.py", plain, signed, pki.chain, pki.key], environment: ["PYTHONPATH": try C2PATests.c2paPython()])
        try #require(s.status == 0, "c2pa-python could not sign: \(s.stderr)")

        func run(_ input: String, _ name: String) throws -> (tags: [String: String], ink: Int, audit: String) {
            let out = dir + "/\(name).mp4", audit = dir + "/\(name).jsonl"
            let r = try TestSupport.labelcast(["run", "-q", "-i", input, "-o", out, "--synthetic", "auto", "--audit-log", audit])
            try #require(r.status == 0, "\(r.stderr)")
            let a = try TestSupport.lumaFrames(plain, width: 320, height: 180), b = try TestSupport.lumaFrames(out, width: 320, height: 180)
            let ink = zip(a[25], b[25]).filter { abs(Int($0) - Int($1)) > 100 }.count
            return (try TestSupport.probeFormat(out).tags, ink, try String(contentsOfFile: audit, encoding: .utf8))
        }
        let marked = try run(signed, "from-signed")
        #expect(marked.tags["AIGC"]?.contains("\"Label\":\"1\"") == true, "no AIGC field on the output: \(marked.tags)")
        #expect(marked.ink > 100, "no label on the picture at 1 s (\(marked.ink) changed pixels)")
        #expect(marked.audit.contains("\"layer\":\"c2pa\"") && marked.audit.contains("marking_found"), "\(marked.audit)")

        let unmarked = try run(plain, "from-plain")
        #expect(unmarked.tags["AIGC"] == nil)
        #expect(unmarked.ink == 0)
        #expect(!unmarked.audit.contains("marking_found"))
    }
}
