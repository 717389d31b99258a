import ArgumentParser
import Foundation
import Labelcast

/// `labelcast report`: the latency table of a run, and an SVG of it.
struct ReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Summarise a --frame-log or --metrics-json file as a latency table; draw it as SVG."
    )
    @Argument(help: "A frame log (CSV) or a metrics report (JSON) written by labelcast run.")
    var file: String
    @Option(help: "Write an SVG plot: latency over time per stage (frame logs) and the distribution by percentile.")
    var svg: String?

    func run() throws {
        let report: LatencyReport
        do { report = try LatencyReport.load(path: file) } catch let e as LabelcastError { throw ValidationError(e.message) }
        print(report.table)
        if let svg {
            do { try LatencyPlot.svg(report).write(toFile: svg, atomically: true, encoding: .utf8) } catch {
                throw ValidationError("--svg '\(svg)' cannot be written: \(error.localizedDescription)")
            }
            print("wrote \(svg)")
        }
    }
}
