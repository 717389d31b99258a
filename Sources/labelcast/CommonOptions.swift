import ArgumentParser
import Foundation
import Labelcast
import Logging

/// Logging options shared by the commands.
struct OutputOptions: ParsableArguments {
    @Flag(name: .shortAndLong, help: "Print only errors.")
    var quiet = false
    @Flag(name: .shortAndLong, help: "Print debugging detail (stream set-up, FFmpeg warnings).")
    var verbose = false

    func validate() throws {
        if quiet && verbose { throw ValidationError("--quiet and --verbose contradict each other: give one") }
    }

    var level: Logger.Level { quiet ? .error : (verbose ? .debug : .notice) }

    func makeLogger() -> Logger {
        let level = self.level
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return RedactingLogHandler(handler)
        }
        FFmpegLogLevel.set(verbose: verbose)
        var logger = Logger(label: "labelcast")
        logger.logLevel = level
        return logger
    }
}

/// Writes a line to stderr, with the run's secrets redacted.
func printError(_ line: String) {
    FileHandle.standardError.write(Data((Redaction.text(line) + "\n").utf8))
}

/// Parses a byte rate like 2500k, 2.5M or 128000.
func parseBitRate(_ text: String, option: String) throws -> Int64 {
    let t = text.trimmingCharacters(in: .whitespaces).lowercased()
    var multiplier = 1.0
    var number = t
    if t.hasSuffix("k") { multiplier = 1e3; number.removeLast() } else if t.hasSuffix("m") { multiplier = 1e6; number.removeLast() }
    guard let v = Double(number), v.isFinite, v > 0 else {
        throw ValidationError("\(option) '\(text)' is not a bit rate: use bits per second like 2500k, 4M or 128000")
    }
    let bits = v * multiplier
    guard bits >= 8_000, bits <= 1e9 else { throw ValidationError("\(option) '\(text)' is out of range (8k to 1000M)") }
    return Int64(bits)
}
