import ArgumentParser
import Foundation
import Labelcast

/// `labelcast serve`: `labelcast inspect` as an HTTP service (POST /v1/inspect).
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve the inspector over HTTP: POST /v1/inspect with a media file as the body (or ?url=STREAM) answers inspect's JSON.",
        discussion: """
        Routes: POST /v1/inspect (body: the file, at most --max-upload-mib; or ?url= a stream URL read for --url-window s, \
        off unless --allow-url-scheme lists schemes; private, loopback and link-local addresses refused unless \
        --allow-url-host allows them; redirects not followed), \
        GET /healthz, GET /metrics. Answers: 200 the report (docs/inspect.schema.json), 400/413/422 bad input, 401 token, \
        429 when --max-concurrent inspections run, 504 past --timeout. OpenAPI: docs/inspect-openapi.yaml. Listens on \
        loopback unless told; another address needs a token (--control-token-file or LABELCAST_CONTROL_TOKEN) or --insecure-no-token.
        """
    )
    @Option(help: "HOST:PORT to listen on (PORT alone: 127.0.0.1).")
    var listen: String
    @Option(help: "Bearer token /v1 requires, at least 8 characters. Visible in `ps`: prefer --control-token-file or LABELCAST_CONTROL_TOKEN.")
    var controlToken: String?
    @Option(help: "File whose first line is the bearer token.")
    var controlTokenFile: String?
    @Flag(help: "Allow a non-loopback --listen without a token.")
    var insecureNoToken = false
    @Option(help: "Watermark key file (also LABELCAST_KEY); without either, the public demo key.")
    var keyFile: String?
    @Option(help: "Largest upload, in MiB (default 512).")
    var maxUploadMib: Int = 512
    @Option(help: "Inspections at once; more get 429 (default 2).")
    var maxConcurrent: Int = 2
    @Option(help: "Seconds an inspection may take before 504 (default 120).")
    var timeout: Double = 120
    @Option(help: "Seconds of a ?url= stream read (default 10).")
    var urlWindow: Double = 10
    @Option(help: "Host name clients may use besides IP literals and localhost (repeatable).")
    var allowedHost: [String] = []
    @Option(help: "Turns ?url= on for these schemes (comma-separated or repeated; of http,https,rtmp,rtmps,srt,udp,rtp). Default: ?url= off.")
    var allowUrlScheme: [String] = []
    @Option(help: "Host name, IP or CIDR ?url= may reach even though it is loopback/private/link-local (comma-separated or repeated).")
    var allowUrlHost: [String] = []
    @OptionGroup var outputOptions: OutputOptions

    func validate() throws {
        if maxUploadMib < 1 { throw ValidationError("--max-upload-mib must be at least 1") }
        if maxConcurrent < 1 { throw ValidationError("--max-concurrent must be at least 1") }
        if !(timeout > 0) { throw ValidationError("--timeout must be more than 0 seconds") }
        if !(urlWindow > 0 && urlWindow <= 3600) { throw ValidationError("--url-window: give seconds between 0 and 3600") }
        if allowUrlScheme.isEmpty, !allowUrlHost.isEmpty { throw ValidationError("--allow-url-host needs --allow-url-scheme (?url= is off without it)") }
        do { _ = try URLGuard(schemes: allowUrlScheme, hosts: allowUrlHost) } catch let e as LabelcastError { throw ValidationError(e.message) }
    }

    func run() async throws {
        let logger = outputOptions.makeLogger()
        let address: ListenAddress
        do { address = try ListenAddress.parse(listen) } catch let e as LabelcastError { throw ValidationError(e.message) }
        var token: ControlToken?
        do {
            if let value = try SecretSource.value(option: controlToken, optionName: "--control-token", file: controlTokenFile,
                                                  fileOption: "--control-token-file", environment: "LABELCAST_CONTROL_TOKEN") {
                token = try ControlToken(value, source: controlToken != nil ? "--control-token" : controlTokenFile != nil ? "--control-token-file" : "LABELCAST_CONTROL_TOKEN")
            }
        } catch let e as LabelcastError { throw ValidationError(e.message) }
        if !address.isLoopback, token == nil, !insecureNoToken {
            throw ValidationError("--listen \(address) is reachable from other hosts and no token is set: give --control-token-file FILE (or LABELCAST_CONTROL_TOKEN), listen on 127.0.0.1, or pass --insecure-no-token")
        }
        let loaded: WatermarkKeySource.Loaded
        do { loaded = try WatermarkKeySource.load(keyFile: keyFile) } catch let e as LabelcastError { throw ValidationError(e.message) }
        if loaded.isDemo { logger.warning("no --key-file or LABELCAST_KEY: watermarks are looked for with the public demo key") }
        var settings = InspectServer.Settings()
        settings.maxBodyBytes = Int64(maxUploadMib) << 20
        settings.maxConcurrent = maxConcurrent
        settings.timeout = timeout
        settings.urlWindow = urlWindow
        settings.allowedHosts = allowedHost
        if !allowUrlScheme.isEmpty {
            settings.urlGuard = try URLGuard(schemes: allowUrlScheme, hosts: allowUrlHost)
            logger.notice("?url= on for \(settings.urlGuard!.schemes.joined(separator: ", "))\(allowUrlHost.isEmpty ? "; public addresses only" : "; also \(settings.urlGuard!.hosts.joined(separator: ", "))")")
        }
        let server = InspectServer(address: address, token: token, key: loaded.key, keyIsDemo: loaded.isDemo, settings: settings)
        do {
            try await server.run(logger: logger) { port in
                logger.notice("serving POST /v1/inspect on http://\(address.host.contains(":") ? "[\(address.host)]" : address.host):\(port)")
            }
        } catch let e as LabelcastError { throw ValidationError(e.message) }
    }
}
