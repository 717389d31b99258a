import Foundation
import Testing
import TestSupport

/// `labelcast serve`'s `?url=`, the service's server-side request forgery surface (issue 20):
/// off by default; with `--allow-url-scheme`, only those schemes, only caller URLs, only public
/// addresses — loopback, private, link-local (the metadata address), IPv4-mapped IPv6 refused,
/// also when a name resolves to them — unless `--allow-url-host` allows them; redirects are not
/// followed; an HLS playlist's segments are checked one by one. Real requests: the service
/// started here, curl as the client, python3's http.server as the stream server, whose request
/// log shows what the service did (and did not) fetch.
@Suite(.serialized) struct ServeURLTests {
    struct Answer {
        let status: Int
        let json: [String: Any]
        var refused: String? { json["refused"] as? String }
        var error: String { json["error"] as? String ?? "" }
    }

    static func post(_ base: String, url: String) throws -> Answer {
        var c = URLComponents(string: base + "/v1/inspect")!
        c.queryItems = [URLQueryItem(name: "url", value: url)]
        let r = try TestSupport.run("curl", ["-s", "-m", "120", "-X", "POST", "-o", "-", "-w", "\n%{http_code}", c.url!.absoluteString], timeout: 130)
        var lines = r.stdoutText.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let code = Int(lines.popLast() ?? "") ?? 0
        let json = (try? JSONSerialization.jsonObject(with: Data(lines.joined(separator: "\n").utf8))) as? [String: Any] ?? [:]
        return Answer(status: code, json: json)
    }

    static func serve(_ dir: String, _ extra: [String], log: String) throws -> (LiveServers.Background, String) {
        let port = LiveServers.freePort()
        let server = try LiveServers.Background(TestSupport.labelcastBinary, ["serve", "--listen", "127.0.0.1:\(port)"] + extra, log: log)
        let base = "http://127.0.0.1:\(port)"
        #expect(LiveRTMPTests.waitUntil(20) { (try? LiveServers.http("GET", base + "/healthz").status) == 200 }, "\(server.log)")
        return (server, base)
    }

    @Test(.timeLimit(.minutes(6)))
    func urlInspectionIsOffUnlessAllowedAndRefusesInternalAddresses() throws {
        let dir = try TestSupport.temporaryDirectory("labelcast-serve-url")
        try TestSupport.makeMedia(dir + "/in.mp4", seconds: 3, video: "testsrc2=size=320x240:rate=25", extra: ["-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac"])
        let run = try TestSupport.labelcast(["run", "-q", "-i", dir + "/in.mp4", "-o", dir + "/out.ts", "--synthetic", "all"], timeout: 240)
        #expect(run.status == 0, "\(run.stderr)")
        try FileManager.default.createDirectory(atPath: dir + "/hls", withIntermediateDirectories: true)
        let hls = try TestSupport.labelcast(["run", "-q", "-i", dir + "/in.mp4", "-o", dir + "/hls/out.m3u8", "--synthetic", "all", "--gop", "1"], timeout: 240)
        #expect(hls.status == 0, "\(hls.stderr)")
        // The stream server, and a second one that only answers redirects (to the first).
        let (files, filesPort) = try HLSInspectTests.serveDirectory(dir, log: dir + "/files.log")
        defer { _ = files.stop() }
        let redirectPort = LiveServers.freePort()
        let redirector = try LiveServers.Background("python3", ["-c", """
            import http.server, sys
            class H(http.server.BaseHTTPRequestHandler):
                def do_GET(self):
                    self.send_response(302); self.send_header('Location', 'http://127.0.0.1:\(filesPort)/out.ts?redirected=1'); self.end_headers()
            http.server.HTTPServer(('127.0.0.1', \(redirectPort)), H).serve_forever()
            """], log: dir + "/redirect.log")
        defer { _ = redirector.stop() }
        // A playlist on the allowed server whose segment is on a refused address.
        try "#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXTINF:1.0,\nhttp://[::1]:\(filesPort)/out.ts?evil=1\n#EXT-X-ENDLIST\n"
            .write(toFile: dir + "/evil.m3u8", atomically: true, encoding: .utf8)
        let stream = "http://127.0.0.1:\(filesPort)/out.ts"

        // Default: off.
        do {
            let (server, base) = try Self.serve(dir, [], log: dir + "/serve-off.log")
            defer { _ = server.stop() }
            let a = try Self.post(base, url: stream)
            #expect(a.status == 403 && a.refused == "url" && a.error.contains("--allow-url-scheme"), "\(a)")
            let f = try Self.post(base, url: "file:///etc/passwd")
            #expect(f.status == 403, "\(f)")
        }
        // Bad option values are one-line errors at start.
        let badScheme = try TestSupport.labelcast(["serve", "--listen", "127.0.0.1:0", "--allow-url-scheme", "file"], timeout: 30)
        #expect(badScheme.status >= 2 && badScheme.stderr.contains("--allow-url-scheme file"), "\(badScheme.stderr)")

        // On for http and rtmp, public addresses only.
        do {
            let (server, base) = try Self.serve(dir, ["--allow-url-scheme", "http,rtmp"], log: dir + "/serve-public.log")
            defer { _ = server.stop() }
            for (url, what, words) in [
                (stream, "address", "loopback"),
                ("http://localhost:\(filesPort)/out.ts", "address", "loopback"),
                ("http://[::ffff:127.0.0.1]:\(filesPort)/out.ts", "address", "loopback"),
                ("http://169.254.169.254/latest/meta-data/", "address", "link-local"),
                ("http://10.1.2.3/x.ts", "address", "private"),
                ("http://[fd00::1]/x.ts", "address", "unique local"),
                ("http://0.0.0.0:\(filesPort)/out.ts", "address", "this network"),
                ("https://example.invalid/x.ts", "scheme", "https"),
                ("file:///etc/passwd", "scheme", "file"),
                ("rtmp://198.51.100.7/live/key?listen=1", "listen", "listen"),
                ("rtmp:///live/key", "listen", "no host"),
            ] {
                let a = try Self.post(base, url: url)
                #expect(a.status == 403 && a.refused == what && a.error.contains(words), "\(url): \(a)")
            }
            #expect(!files.log.contains("GET /out.ts"), "a refused URL was fetched: \(files.log)")
            #expect((try? LiveServers.http("GET", base + "/healthz").status) == 200)
            let metrics = try LiveServers.http("GET", base + "/metrics")
            #expect(metrics.body.contains("labelcast_inspect_requests_total{result=\"url_refused\"} 11"), "\(metrics.body)")
        }
        // 127.0.0.1 allowed: the stream is read; a redirect is not followed (even to an
        // allowed address); a playlist's segment on a refused address is refused unfetched.
        do {
            let (server, base) = try Self.serve(dir, ["--allow-url-scheme", "http", "--allow-url-host", "127.0.0.1"], log: dir + "/serve-allowed.log")
            defer { _ = server.stop() }
            let ok = try Self.post(base, url: stream)
            #expect(ok.status == 200 && (ok.json["verdict"] as? [String: Any])?["tier"] as? Int == 1, "\(ok)")
            #expect(files.log.contains("GET /out.ts HTTP"), "\(files.log)")
            let playlist = try Self.post(base, url: "http://127.0.0.1:\(filesPort)/hls/out.m3u8")
            #expect(playlist.status == 200 && (playlist.json["hls"] as? [String: Any])?["segment_type"] as? String == "mpegts", "\(playlist)")
            let redirected = try Self.post(base, url: "http://127.0.0.1:\(redirectPort)/stream.ts")
            #expect(redirected.status == 422 && redirected.error.lowercased().contains("redirect"), "\(redirected)")
            #expect(redirector.log.contains("GET /stream.ts"), "\(redirector.log)")
            #expect(!files.log.contains("redirected=1"), "the redirect was followed: \(files.log)")
            let evil = try Self.post(base, url: "http://127.0.0.1:\(filesPort)/evil.m3u8")
            #expect(evil.status == 403 && evil.refused == "address" && evil.error.contains("::1"), "\(evil)")
            #expect(!files.log.contains("evil=1"), "the refused segment was fetched: \(files.log)")
            #expect((try? LiveServers.http("GET", base + "/healthz").status) == 200)
        }
    }
}
