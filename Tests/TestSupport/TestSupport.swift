import Foundation

/// Helpers the test targets share: running processes (ffmpeg/ffprobe as independent oracles,
/// the labelcast binary), temporary folders, and reading ffprobe's answers.
public enum TestSupport {
    public struct ProcessResult: Sendable {
        public let status: Int32
        public let stdout: Data
        public let stderr: String
        public var stdoutText: String { String(decoding: stdout, as: UTF8.self) }
        /// stderr lines that are not blank.
        public var errorLines: [String] { stderr.split(whereSeparator: \.isNewline).map(String.init).filter { !$0.trimmingCharacters(in: .whitespaces).isEmpty } }
    }

    /// Runs `executable` with `arguments`, feeding `stdin` if given; waits at most `timeout` s.
    @discardableResult
    public static func run(_ executable: String, _ arguments: [String], stdin: Data? = nil, cwd: String? = nil,
                           environment: [String: String]? = nil, timeout: Double = 120) throws -> ProcessResult {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: executable.hasPrefix("/") ? executable : try which(executable))
        p.arguments = arguments
        if let cwd { p.currentDirectoryURL = URL(fileURLWithPath: cwd) }
        if let environment { p.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 } }
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        let input = Pipe()
        p.standardInput = stdin == nil ? FileHandle.nullDevice : input
        try p.run()
        if let stdin {
            DispatchQueue.global().async {
                input.fileHandleForWriting.write(stdin)
                try? input.fileHandleForWriting.close()
            }
        }
        // Read both pipes concurrently so a chatty child never blocks on a full pipe.
        let group = DispatchGroup()
        nonisolated(unsafe) var outData = Data()
        nonisolated(unsafe) var errData = Data()
        group.enter()
        DispatchQueue.global().async { outData = out.fileHandleForReading.readDataToEndOfFile(); group.leave() }
        group.enter()
        DispatchQueue.global().async { errData = err.fileHandleForReading.readDataToEndOfFile(); group.leave() }
        if group.wait(timeout: .now() + timeout) == .timedOut {
            p.terminate()
            kill(p.processIdentifier, SIGKILL)
            throw TestFailure("\(executable) \(arguments.joined(separator: " ")) did not finish within \(timeout) s")
        }
        p.waitUntilExit()
        return ProcessResult(status: p.terminationStatus, stdout: outData, stderr: String(decoding: errData, as: UTF8.self))
    }

    public static func which(_ name: String) throws -> String {
        for dir in (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":") {
            let path = "\(dir)/\(name)"
            if FileManager.default.isExecutableFile(atPath: path) { return path }
        }
        throw TestFailure("\(name) not found on PATH (make test installs it)")
    }

    /// The labelcast executable built beside the test bundle (or $LABELCAST_BIN).
    public static var labelcastBinary: String {
        if let env = ProcessInfo.processInfo.environment["LABELCAST_BIN"] { return env }
        var dir = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        for _ in 0..<4 {
            let candidate = dir.appendingPathComponent("labelcast").path
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
            dir = dir.deletingLastPathComponent()
        }
        return URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("labelcast").path
    }

    /// Runs the labelcast binary.
    @discardableResult
    public static func labelcast(_ arguments: [String], stdin: Data? = nil, cwd: String? = nil,
                                 environment: [String: String]? = nil, timeout: Double = 180) throws -> ProcessResult {
        try run(labelcastBinary, arguments, stdin: stdin, cwd: cwd, environment: environment, timeout: timeout)
    }

    /// A fresh temporary folder.
    public static func temporaryDirectory(_ name: String = "labelcast-test") throws -> String {
        let path = NSTemporaryDirectory() + "\(name)-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    /// Makes a test file with the ffmpeg CLI from lavfi sources.
    /// `video`: e.g. "testsrc2=size=1280x720:rate=30"; `audio`: e.g. "sine=frequency=440:sample_rate=48000".
    public static func makeMedia(_ path: String, seconds: Double, video: String? = "testsrc2=size=320x240:rate=30",
                                 audio: String? = "sine=frequency=440:sample_rate=48000", extra: [String] = []) throws {
        var args = ["-v", "error", "-y"]
        if let video { args += ["-f", "lavfi", "-i", video] }
        if let audio { args += ["-f", "lavfi", "-i", audio] }
        args += ["-t", String(seconds)]
        if video != nil { args += ["-pix_fmt", "yuv420p"] }
        if audio != nil { args += ["-ac", "2"] }
        args += extra + [path]
        let r = try run("ffmpeg", args)
        guard r.status == 0 else { throw TestFailure("ffmpeg could not make \(path): \(r.stderr)") }
    }

    /// ffprobe's view of one stream.
    public struct ProbedStream: Sendable {
        public let codecType: String
        public let codecName: String
        public let frames: Int
        public let width: Int
        public let height: Int
        public let pixelFormat: String
        public let sampleRate: Int
        public let channels: Int
        public let startTime: Double
        public let duration: Double
        public let frameRate: Double
        public let tags: [String: String]
    }

    /// Streams of a file as ffprobe counts them (decoding every frame: an independent oracle).
    public static func probe(_ path: String) throws -> [ProbedStream] {
        let r = try run("ffprobe", ["-v", "error", "-count_frames", "-show_streams", "-of", "json", path])
        guard r.status == 0 else { throw TestFailure("ffprobe failed on \(path): \(r.stderr)") }
        let json = try JSONSerialization.jsonObject(with: r.stdout) as? [String: Any] ?? [:]
        let streams = json["streams"] as? [[String: Any]] ?? []
        return streams.map { s in
            func str(_ k: String) -> String { s[k] as? String ?? "" }
            func num(_ k: String) -> Double { Double(str(k)) ?? (s[k] as? Double) ?? Double(s[k] as? Int ?? 0) }
            let rate = str("avg_frame_rate").split(separator: "/").compactMap { Double($0) }
            return ProbedStream(codecType: str("codec_type"), codecName: str("codec_name"), frames: Int(num("nb_read_frames")),
                                width: s["width"] as? Int ?? 0, height: s["height"] as? Int ?? 0, pixelFormat: str("pix_fmt"),
                                sampleRate: Int(num("sample_rate")), channels: s["channels"] as? Int ?? 0,
                                startTime: num("start_time"), duration: num("duration"),
                                frameRate: rate.count == 2 && rate[1] > 0 ? rate[0] / rate[1] : 0,
                                tags: s["tags"] as? [String: String] ?? [:])
        }
    }

    /// Container-level tags and duration.
    public static func probeFormat(_ path: String) throws -> (duration: Double, tags: [String: String], formatName: String) {
        let r = try run("ffprobe", ["-v", "error", "-show_format", "-of", "json", path])
        guard r.status == 0 else { throw TestFailure("ffprobe failed on \(path): \(r.stderr)") }
        let json = try JSONSerialization.jsonObject(with: r.stdout) as? [String: Any] ?? [:]
        let f = json["format"] as? [String: Any] ?? [:]
        return (Double(f["duration"] as? String ?? "") ?? 0, f["tags"] as? [String: String] ?? [:], f["format_name"] as? String ?? "")
    }

    /// Decoded audio sample count per channel (ffmpeg decodes to raw s16le).
    public static func audioSampleCount(_ path: String) throws -> Int {
        let r = try run("ffmpeg", ["-v", "error", "-i", path, "-map", "0:a:0", "-f", "s16le", "-ac", "1", "-"])
        guard r.status == 0 else { throw TestFailure("ffmpeg could not decode audio of \(path): \(r.stderr)") }
        return r.stdout.count / 2
    }

    /// Raw grayscale (luma) pictures of a video, decoded by ffmpeg: one Data per frame.
    public static func lumaFrames(_ path: String, width: Int, height: Int, select: String? = nil) throws -> [[UInt8]] {
        var args = ["-v", "error", "-i", path, "-map", "0:v:0"]
        if let select { args += ["-vf", select] }
        args += ["-vsync", "passthrough", "-f", "rawvideo", "-pix_fmt", "gray", "-"]
        let r = try run("ffmpeg", args, timeout: 300)
        guard r.status == 0 else { throw TestFailure("ffmpeg could not decode video of \(path): \(r.stderr)") }
        let size = width * height
        let bytes = [UInt8](r.stdout)
        return stride(from: 0, to: bytes.count - size + 1, by: size).map { Array(bytes[$0..<($0 + size)]) }
    }

    /// Files in a folder (to check that nothing partial was left behind).
    public static func files(in dir: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).sorted()
    }
}

public struct TestFailure: Error, CustomStringConvertible {
    public let description: String
    public init(_ d: String) { description = d }
}
