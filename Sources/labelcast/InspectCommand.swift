import ArgumentParser
import Foundation
import Labelcast

/// `labelcast inspect`: every label layer of a file, a pipe or a live stream, and the
/// measures' verdict (tier 1 declared, 2 possibly, 3 suspected, or none found).
struct InspectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect",
        abstract: "Report every AI label layer of an input (AIGC metadata, C2PA, audio and video watermarks, chapters, sidecar) and a verdict in the three tiers.",
        discussion: """
        Tiers (2025 labeling measures, art. 6): 1 the content declares itself AI-generated (AIGC metadata with Label 1, or a \
        valid C2PA manifest with an AI digital source type); 2 possibly (a watermark payload read but no declaration, AIGC \
        Label 2, or an AI declaration whose C2PA validation fails); 3 suspected (a malformed AIGC value, AIGC Label 3, a \
        watermark's sync pattern without payload, labelcast's chapters or sidecar alone).
        An HLS playlist (.m3u8 path or URL) is followed to its segments (a master playlist to its first variant): its \
        EXT-X-DATERANGE AIGC ranges, fMP4 emsg ID3 and the segments' media are read.
        Exit status: 0 when any layer was found, 1 when none, 2 or more on an error. --json prints the report as \
        docs/inspect.schema.json describes it (schema_version \(InspectionReport.schemaVersion)).
        """
    )
    @Argument(help: "File, - (stdin), HLS playlist (.m3u8 path or URL) or live URL (rtmp://, srt://, udp://, http(s)://…).")
    var input: String
    @Option(help: "Watermark key file (also LABELCAST_KEY); without either, the public demo key.")
    var keyFile: String?
    @Flag(help: "Print the report as JSON (docs/inspect.schema.json).")
    var json = false
    @Option(help: "Seconds of a live input or pipe to read (default: 10 for a live URL; a pipe to its end). Files are read whole.")
    var duration: Double?
    @Option(help: "PEM file of C2PA trust anchors: signers chaining to them are reported as trusted.")
    var c2paTrust: String?
    @Option(help: "labelcast's --segments-out JSON for this file (default: NAME.segments.json beside it, when present).")
    var segments: String?
    @Option(help: "Seconds without data from a network input before giving up (default 10).")
    var readTimeout: Double = 10
    @Option(help: "Largest copy of standard input kept while inspecting, in MiB (default 2048).")
    var maxMib: Int = 2048
    @OptionGroup var outputOptions: OutputOptions

    func validate() throws {
        if let duration, !(duration > 0 && duration <= 86_400) { throw ValidationError("--duration \(duration): give seconds between 0 and 86400") }
        if !(readTimeout > 0) { throw ValidationError("--read-timeout must be more than 0 seconds") }
        if maxMib < 1 { throw ValidationError("--max-mib must be at least 1") }
    }

    func run() throws {
        let logger = outputOptions.makeLogger()
        let loaded: WatermarkKeySource.Loaded
        do { loaded = try WatermarkKeySource.load(keyFile: keyFile) } catch let e as LabelcastError { throw ValidationError(e.message) }
        var trust: String?
        if let c2paTrust {
            guard let text = try? String(contentsOfFile: c2paTrust, encoding: .utf8), text.contains("-----BEGIN CERTIFICATE-----") else {
                throw ValidationError("--c2pa-trust '\(c2paTrust)' is not a readable PEM file of certificates")
            }
            trust = text
        }
        let inspector = Inspector(input: input, key: loaded.key, keyIsDemo: loaded.isDemo, window: duration, maxBytes: Int64(maxMib) << 20,
                                  trustPEM: trust, segmentsSidecar: segments, readTimeout: readTimeout)
        let report: InspectionReport
        do { report = try inspector.run() } catch let e as LabelcastError { throw ValidationError(e.message) }
        if json {
            print(try report.json())
        } else {
            print(report.text)
        }
        if loaded.isDemo { logger.debug("looked for watermarks made with the public demo key") }
        if !report.found { throw ExitCode(1) }
    }
}
