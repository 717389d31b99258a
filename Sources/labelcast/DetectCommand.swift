import ArgumentParser
import Foundation
import Labelcast

/// `labelcast detect`: find the audio watermark and the video mark in a file, a pipe or a live stream.
struct DetectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "detect",
        abstract: "Find the audio watermark and the video mark: one line per marked range, START END PAYLOAD CONFIDENCE (and 'video' for the video mark's).",
        discussion: "Exit status as grep's: 0 when a watermark was found, 1 when none, 2 or more on an error."
    )
    @Argument(help: "File, - (stdin) or live URL.")
    var input: String
    @Option(help: "Watermark key file (also LABELCAST_KEY); without either, the public demo key.")
    var keyFile: String?
    @Flag(help: "Print {\"duration\": D, \"segments\": [...]} as JSON (each segment's \"modality\" is audio or video).")
    var json = false
    @Flag(help: "Read a file at its native rate, as a live stream would arrive (ranges are printed as found).")
    var realtime = false
    @Option(help: "Seconds without data from a live input before giving up (default 10).")
    var readTimeout: Double = 10
    @OptionGroup var outputOptions: OutputOptions

    func run() throws {
        let logger = outputOptions.makeLogger()
        let loaded: WatermarkKeySource.Loaded
        do { loaded = try WatermarkKeySource.load(keyFile: keyFile) } catch let e as LabelcastError { throw ValidationError(e.message) }
        let scan = WatermarkScan(input: input, key: loaded.key, realtime: realtime, readTimeout: readTimeout)
        let signals = SignalWatcher { _ in scan.cancel() }
        let live = realtime || LabelJob(input: input, output: "-").inputIsLive
        let report: DetectionReport
        do {
            report = try scan.run(onDetection: live && !json ? { seg in
                FileHandle.standardError.write(Data(String(format: "found %.3f-%.3f %@ in the %@ (confidence %.1f%@)\n", seg.start, seg.end, seg.payload,
                                                           seg.modality, seg.confidence, seg.verified ? "" : ", confirmed").utf8))
            } : nil)
        } catch let e as LabelcastError { throw ValidationError(e.message) }
        _ = signals
        if loaded.isDemo { logger.warning("no --key-file or LABELCAST_KEY: looked for marks made with the public demo key") }
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            print(String(decoding: try encoder.encode(report), as: UTF8.self))
        } else {
            for line in report.lines { print(line) }
        }
        if report.syncOnly {
            let audio = report.syncZ ?? 0, video = report.videoSyncZ ?? 0
            let which = audio >= DetectionReport.presenceThreshold ? "audio" : "video"
            logger.warning("\(String(format: "no payload read, but this key's sync pattern is present in the %@ (z %.1f, threshold %.0f): marked media too short or too degraded to read; try a longer excerpt", which, max(audio, video), DetectionReport.presenceThreshold))")
        }
        if report.segments.isEmpty { throw ExitCode(1) }
    }
}
