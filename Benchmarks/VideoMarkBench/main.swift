// videomark-bench: the video mark's sweep helper, on raw 8-bit luma ("gray") frames from
// ffmpeg, so ffmpeg does all decoding and scaling:
//   ffmpeg -i in.mp4 -f rawvideo -pix_fmt gray - | videomark-bench windows --width W --height H --fps R ...
//
//   speed                            embed and detect cost per 1920x1080 frame (textured content)
//   windows  --width --height --fps  [--key-file K] [--payload-id N] [--from A --to B]
//            reads frames from stdin; for each window length (2 s, 5 s) every window starting
//            each 0.5 s fully inside [A, B] is fed to a fresh detector: exact-payload rate; and
//            the whole clip through one detector: its ranges.
//   false    --width --height --fps  [--key-file K]: streams stdin through one detector; prints
//            any payload found (should be none) and the strongest sync z.
//   embed    --width --height --fps  [--key-file K] [--payload-id N]: yuv420p frames stdin ->
//            marked yuv420p frames stdout (for comparisons outside the pipeline).
import AudioMark
import VideoMark
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

struct Options {
    var values: [String: String] = [:]
    init(_ args: ArraySlice<String>) {
        var it = args.makeIterator()
        while let a = it.next() {
            if a.hasPrefix("--") { values[String(a.dropFirst(2))] = it.next() ?? "" }
        }
    }
    func int(_ k: String, _ d: Int) -> Int { values[k].flatMap { Int($0) } ?? d }
    func double(_ k: String, _ d: Double) -> Double { values[k].flatMap { Double($0) } ?? d }
}

/// The standard streams as file descriptors' FILE handles, opened once (the C globals are not
/// concurrency-safe to touch from Swift 6).
nonisolated(unsafe) let input = fdopen(0, "rb")!
nonisolated(unsafe) let output = fdopen(1, "wb")!

func fail(_ message: String) -> Never {
    let line = "videomark-bench: \(message)\n"
    _ = line.withCString { write(2, $0, strlen($0)) }
    exit(2)
}

func key(_ o: Options) -> WatermarkKey {
    guard let path = o.values["key-file"] else { return .demo }
    guard let f = fopen(path, "rb") else { fail("cannot open \(path)") }
    defer { fclose(f) }
    var bytes = [UInt8](repeating: 0, count: 65536)
    let n = fread(&bytes, 1, bytes.count, f)
    var secret = Array(bytes[0..<n])
    while let l = secret.last, l == 0x0A || l == 0x0D { secret.removeLast() }
    do { return try WatermarkKey(secret: secret) } catch { fail("\(error)") }
}

func payloadID(_ o: Options) -> UInt32 {
    let s = o.values["payload-id"] ?? "0"
    if s.hasPrefix("0x") { return UInt32(s.dropFirst(2), radix: 16) ?? 0 }
    return UInt32(s) ?? 0
}

func now() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}

/// CPU time of this thread: what "per core" costs mean on a shared machine (wall time there
/// includes waiting for a core).
func cpuNow() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}

func readFrames(width: Int, height: Int) -> [[UInt8]] {
    var frames: [[UInt8]] = []
    let size = width * height
    while true {
        var buf = [UInt8](repeating: 0, count: size)
        var got = 0
        while got < size {
            let n = buf.withUnsafeMutableBytes { fread($0.baseAddress! + got, 1, size - got, input) }
            if n <= 0 { break }
            got += n
        }
        if got < size { break }
        frames.append(buf)
    }
    return frames
}

func detect(_ frames: ArraySlice<[UInt8]>, first: Int, width: Int, height: Int, fps: Double, key: WatermarkKey) -> [VideoMarkDetection] {
    let d = VideoMarkDetector(key: key)
    var out: [VideoMarkDetection] = []
    for (i, f) in zip(first..., frames) {
        var f = f
        f.withUnsafeMutableBytes { raw in
            let plane = LumaPlane(base: raw.baseAddress!, width: width, height: height, stride: width)
            out += (try? d.process(plane, time: Double(i) / fps)) ?? []
        }
    }
    return out + d.finish()
}

let args = CommandLine.arguments
guard args.count >= 2 else { fail("usage: videomark-bench speed | windows | false | embed [options]") }
let o = Options(args.dropFirst(2))
let w = o.int("width", 1920), h = o.int("height", 1080), fps = o.double("fps", 30)

switch args[1] {
case "speed":
    // A camera-like textured 1080p frame (value noise + grain), panned 1 px per frame.
    let bw = 1920 + 64, bh = 1080
    var g: UInt64 = 12345
    var base = [UInt8](repeating: 0, count: bw * bh)
    var coarse = [Double](repeating: 0, count: (bw / 32 + 2) * (bh / 32 + 2))
    for i in 0..<coarse.count { g = g &* 6364136223846793005 &+ 1442695040888963407; coarse[i] = Double(g >> 40 & 0xFF) }
    let cw = bw / 32 + 2
    for y in 0..<bh {
        for x in 0..<bw {
            let gx = x / 32, gy = y / 32, fx = Double(x % 32) / 32, fy = Double(y % 32) / 32
            let v = (coarse[gy * cw + gx] * (1 - fx) + coarse[gy * cw + gx + 1] * fx) * (1 - fy)
                + (coarse[(gy + 1) * cw + gx] * (1 - fx) + coarse[(gy + 1) * cw + gx + 1] * fx) * fy
            g = g &* 6364136223846793005 &+ 1442695040888963407
            base[y * bw + x] = UInt8(max(0, min(255, 30 + v * 0.7 + Double(g >> 59))))
        }
    }
    let e = VideoMarkEmbedder(key: key(o), payload: WatermarkPayload(id: 7))
    let d = VideoMarkDetector(key: key(o))
    let n = o.int("frames", 300)
    var frame = [UInt8](repeating: 0, count: 1920 * 1080)
    var embedTime = 0.0, detectTime = 0.0, worstEmbed = 0.0
    var found: [VideoMarkDetection] = []
    for i in 0..<n {
        let dx = i % 64
        for y in 0..<1080 { for x in 0..<1920 { frame[y * 1920 + x] = base[y * bw + x + dx] } }
        frame.withUnsafeMutableBytes { raw in
            let plane = LumaPlane(base: raw.baseAddress!, width: 1920, height: 1080, stride: 1920)
            let t0 = cpuNow()
            try! e.mark(plane, time: Double(i) / 30)
            let t1 = cpuNow()
            found += try! d.process(plane, time: Double(i) / 30)
            let t2 = cpuNow()
            embedTime += t1 - t0; detectTime += t2 - t1; worstEmbed = max(worstEmbed, t1 - t0)
        }
    }
    found += d.finish()
    print(String(format: "embed 1920x1080: %.3f ms CPU/frame mean, %.3f ms worst (%d frames)", embedTime / Double(n) * 1000, worstEmbed * 1000, n))
    print(String(format: "detect 1920x1080: %.3f ms CPU/frame mean = %.1fx real time at 30 fps (luma in memory; decoding not included)", detectTime / Double(n) * 1000, (1.0 / 30) / (detectTime / Double(n))))
    print("found: \(found.map(\.description))")

case "false":
    // Streams: an hour of video is never held in memory.
    let d = VideoMarkDetector(key: key(o))
    var frame = [UInt8](repeating: 0, count: w * h)
    var n = 0
    var found: [VideoMarkDetection] = []
    let t0 = now()
    while true {
        let got = frame.withUnsafeMutableBytes { fread($0.baseAddress!, 1, w * h, input) }
        if got < w * h { break }
        frame.withUnsafeMutableBytes { raw in
            found += (try? d.process(LumaPlane(base: raw.baseAddress!, width: w, height: h, stride: w), time: Double(n) / fps)) ?? []
        }
        n += 1
    }
    found += d.finish()
    let seconds = Double(n) / fps
    print(String(format: "frames=%d duration=%.1fs detect_speed=%.0fx detections=%d max_sync_z=%.2f %@", n, seconds, seconds / (now() - t0),
                 found.count, d.strongestSync, found.map(\.description).joined(separator: ",")))

case "windows":
    let k = key(o)
    let expected = WatermarkPayload(synthetic: true, id: payloadID(o))
    let frames = readFrames(width: w, height: h)
    guard !frames.isEmpty else { fail("no frames on stdin (\(w)x\(h) gray)") }
    let duration = Double(frames.count) / fps
    let from = o.double("from", 0), to = min(o.double("to", duration), duration)
    let t0 = now()
    let whole = detect(frames[...], first: 0, width: w, height: h, fps: fps, key: k)
    let wholeTime = now() - t0
    var line = String(format: "frames=%d duration=%.2f detect_speed=%.1fx whole=", frames.count, duration, duration / wholeTime)
    line += whole.isEmpty ? "none" : whole.map { String(format: "%.2f-%.2f:0x%08X:z%.1f", $0.start, $0.end, $0.payload.id, $0.confidence) }.joined(separator: ",")
    for length in [2.0, 5.0] {
        var total = 0, exact = 0, wrong = 0
        var start = from
        while start + length <= to + 1e-6 {
            let lo = Int((start * fps).rounded(.up)), hi = min(frames.count, Int(((start + length) * fps).rounded(.down)))
            let found = detect(frames[lo..<hi], first: lo, width: w, height: h, fps: fps, key: k)
            total += 1
            if found.contains(where: { $0.payload == expected }) { exact += 1 }
            if found.contains(where: { $0.payload != expected }) { wrong += 1 }
            start += 0.5
        }
        line += String(format: " w%.0f=%d/%d wrong%.0f=%d", length, exact, total, length, wrong)
    }
    print(line)

case "embed":
    let e = VideoMarkEmbedder(key: key(o), payload: WatermarkPayload(synthetic: true, id: payloadID(o)), strength: Float(o.double("strength", 1)))
    let size = w * h * 3 / 2
    var buf = [UInt8](repeating: 0, count: size)
    var i = 0
    while fread(&buf, 1, size, input) == size {
        buf.withUnsafeMutableBytes { raw in
            try! e.mark(LumaPlane(base: raw.baseAddress!, width: w, height: h, stride: w), time: Double(i) / fps)
        }
        _ = fwrite(&buf, 1, size, output)
        i += 1
    }
    fflush(output)

default:
    fail("unknown mode '\(args[1])': speed, windows, false or embed")
}
