import ArgumentParser
import Foundation
import Labelcast

/// `labelcast demo`: the whole job on a generated source, no input needed.
struct DemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Generate a 12 s test source and run the whole labeling job on it (synthetic 4-8 s)."
    )

    @Option(name: .shortAndLong, help: "Folder for the demo's files.")
    var directory: String = "labelcast-demo"
    @OptionGroup var outputOptions: OutputOptions

    func run() async throws {
        let logger = outputOptions.makeLogger()
        let fm = FileManager.default
        do { try fm.createDirectory(atPath: directory, withIntermediateDirectories: true) } catch {
            throw ValidationError("cannot create the demo folder '\(directory)': \(error.localizedDescription)")
        }
        let source = directory + "/source.mp4"
        let labeled = directory + "/labeled.mp4"
        let reportPath = directory + "/report.json"
        logger.notice("generating a 12 s 1280x720 30 fps test source with 48 kHz stereo audio…")
        try DemoSource.write(to: source)
        var job = LabelJob(input: source, output: labeled)
        job.segments = [SyntheticRange(start: 4, end: 8)]
        let report = try await LabelRunner(job: job, logger: logger).run()
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(report).write(to: URL(fileURLWithPath: reportPath))
        if !outputOptions.quiet { printError(report.summary) }
        print("""
        labelcast demo wrote:
          \(source)     the generated source (12 s, 1280x720 30 fps, 48 kHz stereo)
          \(labeled)    the labeled result: 4 s to 8 s are marked synthetic
          \(reportPath)     the run's report (frames in/out/dropped per lane, speed)
        """)
    }
}
