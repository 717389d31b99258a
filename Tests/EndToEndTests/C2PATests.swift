import Foundation
import Testing
import TestSupport

/// Signed provenance end to end (issue 19, files): `labelcast run --c2pa-cert/--c2pa-key`
/// signs MP4/MOV/M4A outputs, and every output is checked by the C2PA reference
/// implementation itself, the PyPI package c2pa-python's `Reader` in a python3 subprocess,
/// with the test's own root CA as the only trust anchor. Certificates are made here with
/// the openssl CLI.
@Suite(.serialized) struct C2PATests {
    static let trained = "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"
    static let composite = "http://cv.iptc.org/newscodes/digitalsourcetype/compositeWithTrainedAlgorithmicMedia"

    /// The checkout (Tests/EndToEndTests/ is two levels down).
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

    /// `.deps/c2pa` (c2pa-python: libc2pa_c.so and the Reader), installed through the
    /// Makefile when a plain `swift test` runs before `make deps`.
    static func c2paPython() throws -> String {
        let dir = root + "/.deps/c2pa"
        if !FileManager.default.fileExists(atPath: dir + "/c2pa/libs/libc2pa_c.so") {
            let r = try TestSupport.run("make", ["-C", root, "--no-print-directory", "c2pa-deps"], timeout: 600)
            guard r.status == 0 else { throw TestFailure("make c2pa-deps failed: \(r.stderr)") }
        }
        return dir
    }

    /// A test PKI in `dir`: a root CA and signers it issued (PEM).
    struct PKI {
        let dir: String
        var root: String { dir + "/root.pem" }
        var chain: String { dir + "/chain.pem" }
        var key: String { dir + "/signer.key" }
    }

    static func openssl(_ args: [String], cwd: String) throws {
        let r = try TestSupport.run("openssl", args, cwd: cwd)
        guard r.status == 0 else { throw TestFailure("openssl \(args.joined(separator: " ")): \(r.stderr)") }
    }

    /// Root CA (P-256) and an end-entity signer with keyUsage digitalSignature and EKU
    /// emailProtection (one C2PA accepts); the chain file holds signer then root.
    static func makePKI() throws -> PKI {
        let dir = try TestSupport.temporaryDirectory("labelcast-c2pa-pki")
        try openssl(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "root.key", "-out", "root.pem",
                     "-days", "30", "-subj", "/CN=labelcast test root/O=labelcast tests",
                     "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign"], cwd: dir)
        try """
        basicConstraints=critical,CA:FALSE
        keyUsage=critical,digitalSignature
        extendedKeyUsage=emailProtection
        subjectKeyIdentifier=hash
        authorityKeyIdentifier=keyid

        """.write(toFile: dir + "/signer.ext", atomically: true, encoding: .utf8)
        try issue(dir: dir, name: "signer", keyArgs: ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"], days: 10)
        return PKI(dir: dir)
    }

    /// A signer certificate `name.pem` (+ `name.key`, chain `name-chain.pem`) from the root.
    static func issue(dir: String, name: String, keyArgs: [String], days: Int, ext: String = "signer.ext") throws {
        try openssl(["req"] + keyArgs + ["-nodes", "-keyout", name + ".key", "-out", name + ".csr", "-subj", "/CN=labelcast \(name)/O=labelcast tests"], cwd: dir)
        try openssl(["x509", "-req", "-in", name + ".csr", "-CA", "root.pem", "-CAkey", "root.key", "-CAcreateserial", "-out", name + ".pem",
                     "-days", String(days), "-extfile", ext], cwd: dir)
        let chain = try String(contentsOfFile: dir + "/\(name).pem", encoding: .utf8) + String(contentsOfFile: dir + "/root.pem", encoding: .utf8)
        try chain.write(toFile: dir + "/\(name == "signer" ? "chain" : name + "-chain").pem", atomically: true, encoding: .utf8)
    }

    /// What the reference implementation reads from `path`, trusting only `trustRoot`.
    struct Verdict {
        let json: [String: Any]
        var state: String { json["validation_state"] as? String ?? json["error"] as? String ?? "" }
        var active: [String: Any] {
            let label = json["active_manifest"] as? String ?? ""
            return (json["manifests"] as? [String: Any])?[label] as? [String: Any] ?? [:]
        }
        var failureCodes: [String] {
            let results = (json["validation_results"] as? [String: Any])?["activeManifest"] as? [String: Any]
            return (results?["failure"] as? [[String: Any]] ?? []).compactMap { $0["code"] as? String }
        }
        var successCodes: [String] {
            let results = (json["validation_results"] as? [String: Any])?["activeManifest"] as? [String: Any]
            return (results?["success"] as? [[String: Any]] ?? []).compactMap { $0["code"] as? String }
        }
        func assertion(_ label: String) -> [String: Any]? {
            (active["assertions"] as? [[String: Any]] ?? []).first { ($0["label"] as? String) == label }?["data"] as? [String: Any]
        }
        var assertionLabels: [String] { (active["assertions"] as? [[String: Any]] ?? []).compactMap { $0["label"] as? String } }
        var actions: [[String: Any]] { (assertion("c2pa.actions.v2") ?? assertion("c2pa.actions"))?["actions"] as? [[String: Any]] ?? [] }
        var ingredients: [[String: Any]] { active["ingredients"] as? [[String: Any]] ?? [] }
    }

    static let readerScript = """
    import json, sys
    import c2pa
    path, fmt, root = sys.argv[1:4]
    sidecar = open(sys.argv[4], "rb").read() if len(sys.argv) > 4 else None
    settings = c2pa.Settings.from_json(json.dumps({"trust": {"trust_anchors": open(root).read()}, "verify": {"verify_trust": True}}))
    try:
        with open(path, "rb") as f:
            print(c2pa.Reader(fmt, f, sidecar, context=c2pa.Context(settings)).json())
    except Exception as e:
        print(json.dumps({"error": type(e).__name__ + ": " + str(e)}))
    """

    /// With `sidecar`, the manifest store is read from that file and validated against `path`.
    static func verify(_ path: String, format: String, trust: String, sidecar: String? = nil) throws -> Verdict {
        let deps = try c2paPython()
        let script = NSTemporaryDirectory() + "labelcast-c2pa-read.py"
        try readerScript.write(toFile: script, atomically: true, encoding: .utf8)
        let r = try TestSupport.run("python3", [script, path, format, trust] + (sidecar.map { [$0] } ?? []), environment: ["PYTHONPATH": deps])
        guard r.status == 0, let json = try? JSONSerialization.jsonObject(with: r.stdout) as? [String: Any] else {
            throw TestFailure("c2pa Reader failed: \(r.stderr) \(r.stdoutText)")
        }
        return Verdict(json: json)
    }

    static func makeInput(_ path: String, seconds: Double = 3, video: Bool = true) throws {
        try TestSupport.makeMedia(path, seconds: seconds, video: video ? "testsrc2=size=160x120:rate=30" : nil,
                                  audio: "sine=f=440:sample_rate=48000",
                                  extra: (video ? ["-c:v", "libx264", "-preset", "ultrafast"] : []) + ["-c:a", "aac"])
    }

    /// Offset of the first top-level `mdat` payload byte in a BMFF file.
    static func mdatPayloadOffset(_ bytes: [UInt8]) -> Int? {
        var at = 0
        while at + 8 <= bytes.count {
            var size = bytes[at..<(at + 4)].reduce(0) { $0 << 8 | Int($1) }
            let type = String(decoding: bytes[(at + 4)..<(at + 8)], as: UTF8.self)
            var header = 8
            if size == 1 { size = bytes[(at + 8)..<(at + 16)].reduce(0) { $0 << 8 | Int($1) }; header = 16 }
            if size == 0 { size = bytes.count - at }
            if type == "mdat" { return at + header }
            guard size >= header else { return nil }
            at += size
        }
        return nil
    }

    func sign(_ args: [String], pki: PKI, cert: String? = nil, key: String? = nil, cwd: String? = nil) throws -> TestSupport.ProcessResult {
        try TestSupport.labelcast(["run"] + args + ["--c2pa-cert", cert ?? pki.chain, "--c2pa-key", key ?? pki.key], cwd: cwd,
                                  environment: ["LABELCAST_C2PA_LIB": try Self.c2paPython() + "/c2pa/libs/libc2pa_c.so"])
    }

    @Test func partlySyntheticMP4IsSignedAndValidatedByTheReferenceImplementation() throws {
        let pki = try Self.makePKI()
        let dir = try TestSupport.temporaryDirectory()
        let input = dir + "/in.mp4", output = dir + "/out.mp4"
        try Self.makeInput(input)
        let r = try sign(["-i", input, "-o", output, "--segments", "1-2", "--payload-id", "0x2A", "--metrics-json", dir + "/m.json"], pki: pki)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stderr.contains("C2PA: signed"), "\(r.stderr)")
        let v = try Self.verify(output, format: "video/mp4", trust: pki.root)
        #expect(v.state == "Trusted", "\(v.state) \(v.failureCodes)")
        #expect(v.failureCodes.isEmpty, "\(v.failureCodes)")
        #expect(v.successCodes.contains("claimSignature.validated"))
        #expect(v.successCodes.contains("signingCredential.trusted"))
        #expect(v.successCodes.contains("assertion.bmffHash.match"))
        #expect(v.assertionLabels.contains { $0.hasPrefix("c2pa.hash.bmff.v") }, "\(v.assertionLabels)")
        // Actions: the input opened (parent ingredient), then edited with a composite source type.
        let actions = v.actions
        #expect(actions.map { $0["action"] as? String } == ["c2pa.opened", "c2pa.edited"], "\(actions)")
        let edited = try #require(actions.last)
        #expect(edited["digitalSourceType"] as? String == Self.composite)
        let agent = edited["softwareAgent"] as? [String: Any]
        #expect(agent?["name"] as? String == "labelcast")
        let version = agent?["version"] as? String ?? ""
        #expect(version.split(separator: ".").count == 3, "softwareAgent version '\(version)'")
        // The synthetic range as written: the frames from 1 s to 2 s.
        let labeling = try #require(v.assertion("org.labelcast.labeling"), "\(v.assertionLabels)")
        let ranges = try #require(labeling["synthetic_ranges"] as? [[String: Double]])
        #expect(ranges.count == 1)
        #expect(abs((ranges.first?["start"] ?? -1) - 1) < 0.05 && abs((ranges.first?["end"] ?? -1) - 2) < 0.05, "\(ranges)")
        let aigc = try #require((labeling["aigc"] as? [String: String])?["value"])
        #expect(aigc.hasPrefix(#"{"AIGC":{"Label":"1","ContentProducer":"labelcast""#), "\(aigc)")
        // ffprobe reads the same AIGC value from the container tag: one statement, two places.
        let probed = try TestSupport.probeFormat(output)
        #expect(probed.tags["AIGC"] == aigc)
        // The soft binding names the watermark and its payload id over the synthetic range.
        let soft = try #require(v.assertion("c2pa.soft-binding"), "\(v.assertionLabels)")
        #expect(soft["alg"] as? String == "org.labelcast.audiomark.1")
        let block = try #require((soft["blocks"] as? [[String: Any]])?.first)
        #expect(block["value"] as? String == Data([0, 0, 0, 0x2A]).base64EncodedString())
        let span = ((block["scope"] as? [String: Any])?["timespan"] as? [String: Int]) ?? [:]
        #expect(abs((span["start"] ?? -1) - 1000) <= 50 && abs((span["end"] ?? -1) - 2000) <= 50, "\(span)")
        // The input (no manifest of its own) is the parent ingredient.
        #expect(v.ingredients.count == 1)
        #expect(v.ingredients.first?["relationship"] as? String == "parentOf")
        #expect(v.ingredients.first?["title"] as? String == "in.mp4")
        // The report has the signing cost.
        let metrics = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir + "/m.json"))) as? [String: Any])
        let c2pa = try #require(metrics["c2pa"] as? [String: Any], "\(metrics.keys)")
        #expect((c2pa["sign_millis"] as? Double ?? 0) > 0)
        #expect(c2pa["algorithm"] as? String == "es256")
        // Still a playable file: 3 s of 30 fps video decode, every frame.
        let streams = try TestSupport.probe(output)
        #expect(streams.first { $0.codecType == "video" }?.frames == 90, "\(streams.map { ($0.codecType, $0.frames) })")
        #expect(streams.contains { $0.codecType == "audio" && $0.frames > 0 })
        #expect(TestSupport.files(in: dir).sorted() == ["in.mp4", "m.json", "out.mp4"])
    }

    /// `--c2pa-tsa`: every signature countersigned by an RFC 3161 time-stamping authority — a
    /// real one on loopback (`Tests/Scripts/tsa_server.py`: HTTP + `openssl ts -reply`, its
    /// certificate issued by the test root with EKU timeStamping). The reference implementation
    /// finds the token valid and trusted and reads the signing time from it; a TSA that does not
    /// answer stops the run before any media work (one line naming --c2pa-tsa, its password not
    /// shown, nothing written).
    @Test func signaturesAreTimeStampedByAnRFC3161Authority() throws {
        let pki = try Self.makePKI()
        try "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=critical,timeStamping\n"
            .write(toFile: pki.dir + "/tsa.ext", atomically: true, encoding: .utf8)
        try Self.issue(dir: pki.dir, name: "tsa", keyArgs: ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"], days: 10, ext: "tsa.ext")
        try """
        [ tsa ]
        default_tsa = tsa_config
        [ tsa_config ]
        serial = ./tsaserial
        crypto_device = builtin
        signer_digest = sha256
        default_policy = 1.2.3.4.1
        digests = sha256, sha384, sha512
        accuracy = secs:1
        ess_cert_id_alg = sha256

        """.write(toFile: pki.dir + "/tsa.cnf", atomically: true, encoding: .utf8)
        try "01\n".write(toFile: pki.dir + "/tsaserial", atomically: true, encoding: .utf8)
        let portFile = pki.dir + "/tsa.port"
        let tsa = try LiveServers.Background("python3", [Self.root + "/Tests/Scripts/tsa_server.py", pki.dir, portFile], log: pki.dir + "/tsa.log")
        defer { tsa.stop(SIGKILL) }
        #expect(LiveRTMPTests.waitUntil(10) { FileManager.default.fileExists(atPath: portFile) }, "\(tsa.log)")
        let port = try String(contentsOfFile: portFile, encoding: .utf8)

        let dir = try TestSupport.temporaryDirectory()
        let input = dir + "/in.mp4", output = dir + "/out.mp4"
        try Self.makeInput(input)
        let r = try sign(["-i", input, "-o", output, "--synthetic", "all", "--c2pa-tsa", "http://127.0.0.1:\(port)/tsa"], pki: pki)
        #expect(r.status == 0, "\(r.stderr)")
        let v = try Self.verify(output, format: "video/mp4", trust: pki.root)
        #expect(v.state == "Trusted", "\(v.state) \(v.failureCodes)")
        #expect(v.failureCodes.isEmpty, "\(v.failureCodes)")
        #expect(v.successCodes.contains("timeStamp.validated") && v.successCodes.contains("timeStamp.trusted"), "\(v.successCodes)")
        // The signing time comes from the token: within the run.
        let info = v.active["signature_info"] as? [String: Any] ?? [:]
        let time = (info["time"] as? String).flatMap { ISO8601DateFormatter().date(from: $0) }
        #expect(time.map { abs($0.timeIntervalSinceNow) < 120 } == true, "\(info)")
        // The TSA was asked (the credential check's probe signature, then the file's).
        let requests = ((try? String(contentsOfFile: pki.dir + "/requests.log", encoding: .utf8)) ?? "").split(separator: "\n")
        #expect(requests.count >= 2 && requests.allSatisfy { $0.hasSuffix("200 application/timestamp-query") }, "\(requests)")
        // Without a TSA signature (the same file signed without --c2pa-tsa) no time-stamp is claimed.
        let plain = dir + "/plain.mp4"
        #expect(try sign(["-i", input, "-o", plain, "--synthetic", "all"], pki: pki).status == 0)
        let pv = try Self.verify(plain, format: "video/mp4", trust: pki.root)
        #expect(pv.state == "Trusted" && !pv.successCodes.contains { $0.hasPrefix("timeStamp.") }, "\(pv.successCodes)")

        // A TSA that is not there: exit 2, one line, nothing written, no password.
        tsa.stop(SIGKILL)
        let gone = dir + "/gone.mp4"
        let e = try sign(["-i", input, "-o", gone, "--synthetic", "all", "--c2pa-tsa", "http://user:tsa-secret-pw@127.0.0.1:\(port)/tsa"], pki: pki)
        #expect(e.status == 2 && e.errorLines.count == 1 && e.stderr.contains("--c2pa-tsa"), "\(e.stderr)")
        #expect(!e.stderr.contains("tsa-secret-pw"), "\(e.stderr)")
        #expect(!FileManager.default.fileExists(atPath: gone), "\(TestSupport.files(in: dir))")
    }

    @Test func flippingOneByteOfMediaDataFailsValidation() throws {
        let pki = try Self.makePKI()
        let dir = try TestSupport.temporaryDirectory()
        let input = dir + "/in.mp4", output = dir + "/out.mp4"
        try Self.makeInput(input, seconds: 2)
        let r = try sign(["-i", input, "-o", output, "--synthetic", "all"], pki: pki)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(try Self.verify(output, format: "video/mp4", trust: pki.root).state == "Trusted")
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: output)))
        let mdat = try #require(Self.mdatPayloadOffset(bytes))
        bytes[mdat + 1000] ^= 0x01
        let tampered = dir + "/tampered.mp4"
        try Data(bytes).write(to: URL(fileURLWithPath: tampered))
        let v = try Self.verify(tampered, format: "video/mp4", trust: pki.root)
        #expect(v.state != "Trusted" && v.state != "Valid", "\(v.state)")
        #expect(v.failureCodes.contains("assertion.bmffHash.mismatch"), "\(v.failureCodes) \(v.state)")
    }

    @Test(arguments: [("mov", "video/quicktime", true), ("m4a", "audio/mp4", false)])
    func wholeSyntheticOutputIsCreatedByATrainedModel(ext: String, format: String, video: Bool) throws {
        let pki = try Self.makePKI()
        let dir = try TestSupport.temporaryDirectory()
        let input = dir + "/in.mp4", output = dir + "/out." + ext
        try Self.makeInput(input, seconds: 2, video: video)
        let r = try sign(["-i", input, "-o", output, "--synthetic", "all"], pki: pki)
        #expect(r.status == 0, "\(r.stderr)")
        let v = try Self.verify(output, format: format, trust: pki.root)
        #expect(v.state == "Trusted", "\(v.state) \(v.failureCodes)")
        #expect(v.actions.map { $0["action"] as? String } == ["c2pa.created"], "\(v.actions)")
        #expect(v.actions.first?["digitalSourceType"] as? String == Self.trained)
        #expect(v.ingredients.isEmpty, "an input without a manifest is no ingredient of a created asset")
        let labeling = v.assertion("org.labelcast.labeling")
        #expect((labeling?["whole_stream_synthetic"] as? Bool) == true)
        // It names the marks the file carries: no visible label in an audio-only file.
        let marks = labeling?["labels"] as? [String: Any] ?? [:]
        #expect((marks["visible_label"] != nil) == video, "\(marks)")
        #expect(marks["audio_watermark"] != nil, "\(marks)")
        #expect(v.assertion("c2pa.soft-binding") != nil)
    }

    /// Containers with no C2PA embedding get `NAME.c2pa` beside them, hard-bound to all of
    /// the file's bytes, and a notice; the media file itself is not touched by signing.
    @Test(arguments: [("mkv", "video/x-matroska", "no C2PA embedding"), ("ts", "video/mp2t", "MPEG-TS cannot carry a C2PA manifest")])
    func containersWithoutAnEmbeddingGetASidecar(ext: String, format: String, notice: String) throws {
        let pki = try Self.makePKI()
        let dir = try TestSupport.temporaryDirectory()
        let input = dir + "/in.mp4", output = dir + "/out." + ext, sidecar = dir + "/out.c2pa"
        try Self.makeInput(input, seconds: 2)
        let r = try sign(["-i", input, "-o", output, "--segments", "0.5-1.5"], pki: pki)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stderr.contains(notice) && r.stderr.contains("out.c2pa"), "\(r.stderr)")
        #expect(TestSupport.files(in: dir).sorted() == ["in.mp4", "out.c2pa", "out.\(ext)"])
        let v = try Self.verify(output, format: format, trust: pki.root, sidecar: sidecar)
        #expect(v.state == "Trusted", "\(v.state) \(v.failureCodes)")
        #expect(v.successCodes.contains("assertion.dataHash.match"), "\(v.successCodes)")
        #expect(v.actions.map { $0["action"] as? String } == ["c2pa.opened", "c2pa.edited"])
        #expect(v.actions.last?["digitalSourceType"] as? String == Self.composite)
        let streams = try TestSupport.probe(output)
        #expect(streams.first { $0.codecType == "video" }?.frames == 60, "\(streams.map { ($0.codecType, $0.frames) })")
        // One flipped byte anywhere in the file breaks the binding.
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: output)))
        bytes[bytes.count / 2] ^= 0x01
        try Data(bytes).write(to: URL(fileURLWithPath: output))
        let tampered = try Self.verify(output, format: format, trust: pki.root, sidecar: sidecar)
        #expect(tampered.failureCodes.contains("assertion.dataHash.mismatch"), "\(tampered.failureCodes) \(tampered.state)")
    }

    @Test func theInputsOwnManifestIsKeptAsParentIngredient() throws {
        let pki = try Self.makePKI()
        let dir = try TestSupport.temporaryDirectory()
        let input = dir + "/in.mp4", first = dir + "/first.mp4", second = dir + "/second.mp4"
        try Self.makeInput(input, seconds: 2)
        #expect(try sign(["-i", input, "-o", first, "--synthetic", "all"], pki: pki).status == 0)
        let firstManifest = try #require(try Self.verify(first, format: "video/mp4", trust: pki.root).json["active_manifest"] as? String)
        // Relabel the signed file: its manifest becomes the parent of the new one.
        let r = try sign(["-i", first, "-o", second, "--synthetic", "auto", "--segments", "0.5-1"], pki: pki)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stderr.contains("manifest is kept as parent ingredient"), "\(r.stderr)")
        let v = try Self.verify(second, format: "video/mp4", trust: pki.root)
        #expect(v.state == "Trusted", "\(v.state) \(v.failureCodes)")
        let parent = try #require(v.ingredients.first)
        #expect(parent["relationship"] as? String == "parentOf")
        #expect(parent["active_manifest"] as? String == firstManifest)
        #expect((v.json["manifests"] as? [String: Any])?[firstManifest] != nil, "the parent's manifest travels in the store")
        #expect(v.actions.map { $0["action"] as? String } == ["c2pa.opened", "c2pa.edited"])
    }

    @Test(arguments: [("rsa", ["-newkey", "rsa:2048"], "Ps256"), ("ed25519", ["-newkey", "ed25519"], "Ed25519")])
    func theKeyTypeChoosesTheAlgorithm(name: String, keyArgs: [String], alg: String) throws {
        let pki = try Self.makePKI()
        try Self.issue(dir: pki.dir, name: name, keyArgs: keyArgs, days: 10)
        let dir = try TestSupport.temporaryDirectory()
        let input = dir + "/in.mp4", output = dir + "/out.mp4"
        try Self.makeInput(input, seconds: 1)
        let r = try sign(["-i", input, "-o", output, "--synthetic", "all"], pki: pki, cert: pki.dir + "/\(name)-chain.pem", key: pki.dir + "/\(name).key")
        #expect(r.status == 0, "\(r.stderr)")
        let v = try Self.verify(output, format: "video/mp4", trust: pki.root)
        #expect(v.state == "Trusted", "\(v.state) \(v.failureCodes)")
        #expect((v.active["signature_info"] as? [String: Any])?["alg"] as? String == alg)
    }

    /// Bad credentials or containers: one line naming the file, exit 2, nothing written,
    /// and never a byte of the key.
    @Test func badInputIsRejectedBeforeAnyMediaWork() throws {
        let pki = try Self.makePKI()
        let d = pki.dir
        try Self.issue(dir: d, name: "expired", keyArgs: ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"], days: -1)
        try "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\n".write(toFile: d + "/noeku.ext", atomically: true, encoding: .utf8)
        try Self.issue(dir: d, name: "noeku", keyArgs: ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"], days: 10, ext: "noeku.ext")
        try Self.openssl(["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", "other.key"], cwd: d)
        try Self.openssl(["pkcs8", "-topk8", "-in", "signer.key", "-out", "encrypted.key", "-passout", "pass:secret1"], cwd: d)
        try FileManager.default.createDirectory(atPath: d + "/a-folder.pem", withIntermediateDirectories: true)
        try Self.openssl(["ec", "-in", "signer.key", "-out", "sec1.key"], cwd: d)
        let keyBody = try String(contentsOfFile: pki.key, encoding: .utf8).split(separator: "\n").filter { !$0.hasPrefix("-----") }
        let cases: [(name: String, output: String, cert: String?, key: String?, mentions: [String])] = [
            ("missing cert", "out.mp4", d + "/nope.pem", pki.key, ["nope.pem", "does not exist"]),
            ("unreadable cert", "out.mp4", d + "/a-folder.pem", pki.key, ["a-folder.pem", "cannot be read"]),
            ("missing key", "out.mp4", pki.chain, d + "/nope.key", ["nope.key", "does not exist"]),
            ("cert without key", "out.mp4", pki.chain, nil, ["without --c2pa-key"]),
            ("key is not PEM", "out.mp4", pki.chain, d + "/signer.ext", ["signer.ext", "no private key"]),
            ("cert is not PEM", "out.mp4", d + "/signer.ext", pki.key, ["signer.ext", "no PEM certificate"]),
            ("encrypted key", "out.mp4", pki.chain, d + "/encrypted.key", ["encrypted.key", "encrypted"]),
            ("SEC1 key", "out.mp4", pki.chain, d + "/sec1.key", ["sec1.key", "SEC1", "openssl pkcs8"]),
            ("mismatched key", "out.mp4", pki.chain, d + "/other.key", ["other.key", "chain.pem", "not the key"]),
            ("expired cert", "out.mp4", d + "/expired-chain.pem", d + "/expired.key", ["expired-chain.pem", "expired"]),
            ("chain without signer", "out.mp4", pki.root, pki.key, ["root.pem", "no signer certificate"]),
            ("no C2PA key usage", "out.mp4", d + "/noeku-chain.pem", d + "/noeku.key", ["noeku-chain.pem", "not valid for C2PA"]),
            ("HLS with MPEG-TS segments", "out.m3u8", pki.chain, pki.key, ["out.m3u8", "MPEG-TS segments", "hls_segment_type=fmp4"]),
            ("stdout output", "-", pki.chain, pki.key, ["stream"]),
        ]
        let dir = try TestSupport.temporaryDirectory()
        let input = dir + "/in.mp4"
        try Self.makeInput(input, seconds: 1)
        for c in cases {
            var args = ["run", "-i", input, "-o", c.output == "-" ? "-" : dir + "/" + c.output, "--synthetic", "all"]
            if c.output == "-" { args += ["-f", "mp4"] }
            if let cert = c.cert { args += ["--c2pa-cert", cert] }
            if let key = c.key { args += ["--c2pa-key", key] }
            let start = Date()
            let r = try TestSupport.labelcast(args, cwd: dir, environment: ["LABELCAST_C2PA_LIB": try Self.c2paPython() + "/c2pa/libs/libc2pa_c.so"])
            #expect(r.status == 2, "\(c.name): status \(r.status) \(r.stderr)")
            #expect(r.errorLines.count == 1, "\(c.name): \(r.stderr)")
            #expect(r.stderr.hasPrefix("labelcast: error: "), "\(c.name): \(r.stderr)")
            for m in c.mentions { #expect(r.stderr.contains(m), "\(c.name): wanted '\(m)' in \(r.stderr)") }
            #expect(!keyBody.contains { r.stderr.contains($0) }, "\(c.name): the key appears in the output")
            #expect(r.stdout.isEmpty, "\(c.name): wrote \(r.stdout.count) bytes to stdout")
            #expect(TestSupport.files(in: dir) == ["in.mp4"], "\(c.name): left \(TestSupport.files(in: dir))")
            #expect(Date().timeIntervalSince(start) < 10, "\(c.name): took \(Date().timeIntervalSince(start)) s")
        }
    }
}
