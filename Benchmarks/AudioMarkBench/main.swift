// audiomark-bench: embed / detect / measure the AudioMark watermark on raw float32 files.
// Raw interleaved float32 little-endian in and out, so ffmpeg does all format work:
//   ffmpeg -i in.wav -f f32le -ar 48000 -ac 2 in.f32
import AudioMark
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

struct Options {
    var positional: [String] = []
    var values: [String: String] = [:]
    init(_ args: ArraySlice<String>) {
        var it = args.makeIterator()
        while let a = it.next() {
            if a.hasPrefix("--") { values[String(a.dropFirst(2))] = it.next() ?? "" } else { positional.append(a) }
        }
    }
    func int(_ k: String, _ d: Int) -> Int { values[k].flatMap { Int($0) } ?? d }
    func double(_ k: String, _ d: Double) -> Double { values[k].flatMap { Double($0) } ?? d }
}

func fail(_ message: String) -> Never {
    print("audiomark-bench: \(message)")
    exit(2)
}

func readFloats(_ path: String) -> [Float] {
    guard let f = fopen(path, "rb") else { fail("cannot open \(path)") }
    defer { fclose(f) }
    fseek(f, 0, SEEK_END)
    let bytes = ftell(f)
    fseek(f, 0, SEEK_SET)
    var out = [Float](repeating: 0, count: bytes / 4)
    let n = out.withUnsafeMutableBytes { fread($0.baseAddress, 1, bytes, f) }
    if n != bytes { fail("short read on \(path)") }
    return out
}

func writeFloats(_ path: String, _ data: [Float]) {
    guard let f = fopen(path, "wb") else { fail("cannot create \(path)") }
    defer { fclose(f) }
    _ = data.withUnsafeBytes { fwrite($0.baseAddress, 1, $0.count, f) }
}

func key(_ o: Options) -> WatermarkKey {
    guard let path = o.values["key-file"] else { return .demo }
    let bytes = readFloatsRaw(path)
    do { return try WatermarkKey(secret: bytes) } catch { fail("\(error)") }
}

func readFloatsRaw(_ path: String) -> [UInt8] {
    guard let f = fopen(path, "rb") else { fail("cannot open \(path)") }
    defer { fclose(f) }
    var out = [UInt8]()
    var buf = [UInt8](repeating: 0, count: 4096)
    while true {
        let n = fread(&buf, 1, buf.count, f)
        if n <= 0 { break }
        out += buf[0..<n]
    }
    return out
}

/// Marks interleaved audio; returns output aligned with the input (latency removed).
func embed(_ x: [Float], rate: Int, channels: Int, key: WatermarkKey, id: UInt32,
           activeRange: Range<Int>?, chunk: Int = 4800) -> [Float] {
    let e = try! WatermarkEmbedder(sampleRate: rate, channels: channels, key: key, payload: WatermarkPayload(id: id))
    let frames = x.count / channels
    var planes = Array(repeating: [Float](repeating: 0, count: chunk), count: channels)
    var out = [Float](); out.reserveCapacity(x.count + e.latencyFrames * channels)
    var pos = 0
    while pos < frames {
        var n = min(chunk, frames - pos)
        var active = activeRange?.contains(pos) ?? true
        if let r = activeRange {   // split at the active range's edges
            if pos < r.lowerBound { n = min(n, r.lowerBound - pos) } else if pos < r.upperBound { n = min(n, r.upperBound - pos) }
            active = r.contains(pos)
        }
        for c in 0..<channels { for i in 0..<n { planes[c][i] = x[(pos + i) * channels + c] } }
        var ptrs: [UnsafeMutablePointer<Float>] = []
        for c in 0..<channels { ptrs.append(planes[c].withUnsafeMutableBufferPointer { $0.baseAddress! }) }
        e.process(ptrs, frameCount: n, active: active)
        for i in 0..<n { for c in 0..<channels { out.append(planes[c][i]) } }
        pos += n
    }
    let tail = e.drain()
    for i in 0..<e.latencyFrames { for c in 0..<channels { out.append(tail[c][i]) } }
    return Array(out[(e.latencyFrames * channels)...])
}

/// Mono at the detector's rate.
func analysisMono(_ x: [Float], rate: Int, channels: Int) -> [Float] {
    let frames = x.count / channels
    var mono = [Float](repeating: 0, count: frames)
    for i in 0..<frames {
        var s: Float = 0
        for c in 0..<channels { s += x[i * channels + c] }
        mono[i] = s / Float(channels)
    }
    return Resampler.resample(mono, from: rate, to: WatermarkDetector.analysisSampleRate)
}

/// CPU time of this thread: "x real time per core" should not depend on what else the
/// machine is doing (wall time on a loaded 2-core box varied by 2x).
func now() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
}

/// Speed of embed and detect, 48 kHz stereo, one core. A function, not top-level code, so
/// the timed loops touch locals rather than main-actor globals.
func runSpeed() {
    let r = 48000, ch = 2, seconds = 60
    var x = [Float](repeating: 0, count: r * ch * seconds)
    var g: UInt64 = 12345
    for i in 0..<x.count {   // pink-ish noise with a slow envelope: realistic band energies
        g = g &* 6364136223846793005 &+ 1442695040888963407
        let u = Float(Int64(bitPattern: g >> 11) % 1_000_000) / 1_000_000
        x[i] = 0.2 * u * (0.6 + 0.4 * sin(Float(i) / Float(r)))
    }
    // Embed: planar chunks of 1024 frames straight into the embedder, as the pipeline does.
    let frames = r * seconds
    let planar = UnsafeMutablePointer<Float>.allocate(capacity: ch * frames)
    defer { planar.deallocate() }
    for c in 0..<ch { for i in 0..<frames { planar[c * frames + i] = x[i * ch + c] } }
    let e = try! WatermarkEmbedder(sampleRate: r, channels: ch, key: .demo, payload: WatermarkPayload(id: 7))
    let t0 = now()
    var pos = 0
    while pos < frames {
        let n = min(1024, frames - pos)
        e.process((0..<ch).map { planar + $0 * frames + pos }, frameCount: n, active: true)
        pos += n
    }
    let tail = e.drain()
    let t1 = now()
    var y = [Float](repeating: 0, count: x.count)
    let lat = tail[0].count
    for i in 0..<frames {
        for c in 0..<ch { y[i * ch + c] = i + lat < frames ? planar[c * frames + i + lat] : tail[c][i + lat - frames] }
    }
    let mono = analysisMono(y, rate: r, channels: ch)
    let t2 = now()
    let d = WatermarkDetector(key: .demo)
    _ = d.process(mono)
    let found = d.finish()
    let t3 = now()
    let u = WatermarkDetector(key: .demo, scaleSearch: false)
    _ = u.process(mono)
    _ = u.finish()
    let t4 = now()
    print(String(format: "embed_x_realtime=%.0f detect_x_realtime=%.0f detect_incl_downmix_resample_x_realtime=%.0f detect_without_scale_search_x_realtime=%.0f (48 kHz stereo, %d s, 1 core) found=%d",
                 Double(seconds) / (t1 - t0), Double(seconds) / (t3 - t2), Double(seconds) / (t3 - t1), Double(seconds) / (t4 - t3),
                 seconds, found.count))
}

let args = CommandLine.arguments
guard args.count >= 2 else {
    print("""
    usage: audiomark-bench embed IN.f32 OUT.f32 --rate R --channels C --id N [--key-file F] [--start S --end E]
           audiomark-bench detect IN.f32 --rate R --channels C [--key-file F] [--primer F.f32] [--dump FILE]
           audiomark-bench windows IN.f32 --rate R --channels C --id N --start S --end E [--length 3] [--count 200] [--seed 1] [--key-file F]
                                   [--primer P --gap G [--primer-file F.f32]] [--dump FILE]
           (detect, windows: --scale-search off looks for unscaled marks only)
           audiomark-bench addnoise IN.f32 OUT.f32 --snr DB --channels C [--seed 1]
           audiomark-bench speed
    """)
    exit(1)
}
let o = Options(args.dropFirst(2))
let rate = o.int("rate", 48000), channels = o.int("channels", 2)

switch args[1] {
case "embed":
    guard o.positional.count == 2 else { fail("embed needs IN and OUT") }
    let x = readFloats(o.positional[0])
    let frames = x.count / channels
    let s = Int(o.double("start", 0) * Double(rate)), e = min(frames, Int(o.double("end", Double(frames) / Double(rate)) * Double(rate)))
    let y = embed(x, rate: rate, channels: channels, key: key(o), id: UInt32(o.int("id", 1)), activeRange: s..<e)
    writeFloats(o.positional[1], y)
    // Quality report: SNR over the marked range; peak difference near the edges.
    var sig = 0.0, diff = 0.0, edgePeak: Float = 0, rampPeak: Float = 0, peak: Float = 0, nonzeroSilence = 0
    let edge = Int(0.05 * Double(rate)), ramp = Int(0.002 * Double(rate))
    for i in 0..<frames {
        for c in 0..<channels {
            let a = x[i * channels + c], b = y[i * channels + c]
            if a == 0 && b != 0 { nonzeroSilence += 1 }
            if i >= s && i < e { sig += Double(a * a); diff += Double((b - a) * (b - a)); peak = max(peak, abs(a)) }
            if abs(i - s) < edge || abs(i - e) < edge { edgePeak = max(edgePeak, abs(b - a)) }
            if abs(i - s) < ramp || abs(i - e) < ramp { rampPeak = max(rampPeak, abs(b - a)) }
        }
    }
    let snr = diff > 0 ? 10 * log10(sig / diff) : .infinity
    // edge_peak: largest |output - input| within 50 ms of either segment edge (mostly the mark
    // at full strength just inside); edge2ms_peak: within 2 ms of the edges, i.e. what a click
    // would be. dBFS = relative to digital full scale 1.0.
    print(String(format: "snr_db=%.2f edge_peak=%.6f edge_peak_dbfs=%.1f edge2ms_peak_dbfs=%.1f host_peak=%.4f silence_violations=%d",
                 snr, edgePeak, 20 * log10(max(1e-12, Double(edgePeak))), 20 * log10(max(1e-12, Double(rampPeak))),
                 peak, nonzeroSilence))
case "detect":
    // With --primer FILE (same format as IN) the detector hears FILE first: IN then follows a
    // stream that has already yielded a payload, and ranges found in IN are reported apart.
    // --dump FILE appends "SECONDS Z" for every confirmation test made while reading IN
    // (SECONDS: how far into IN).
    guard o.positional.count == 1 else { fail("detect needs IN") }
    let primerMono = o.values["primer"].map { analysisMono(readFloats($0), rate: rate, channels: channels) } ?? []
    let mono = analysisMono(readFloats(o.positional[0]), rate: rate, channels: channels)
    let d = WatermarkDetector(key: key(o), scaleSearch: o.values["scale-search"] != "off")
    _ = d.process(primerMono)
    let primerSeconds = Double(primerMono.count) / Double(WatermarkDetector.analysisSampleRate)
    let attemptsBefore = d.decodeAttempts, testsBefore = d.confirmationTests, confirmationsBefore = d.confirmations
    let dump = o.values["dump"].flatMap { fopen($0, "a") }
    var pos = 0
    while pos < mono.count {
        let n = min(1600, mono.count - pos)
        let tests = d.confirmationTests
        _ = mono[pos..<(pos + n)].withUnsafeBufferPointer { d.process($0) }
        if let dump, d.confirmationTests > tests {
            fputs(String(format: "%.2f %.3f\n", Double(pos + n) / Double(WatermarkDetector.analysisSampleRate), d.lastConfirmation), dump)
        }
        pos += n
    }
    if let dump { fclose(dump) }
    let all = d.finish()
    // Ranges of IN: those that start after the primer. The primer's own range may reach a
    // little past its end (trimming works on 20 ms pairs); `primer_range_end` shows how far.
    let found = all.filter { $0.start >= primerSeconds }
    for r in all { print(r) }
    print(String(format: "ranges=%d strongest_sync=%.2f decode_attempts=%d confirmation_tests=%d confirmations=%d refused=%d strongest_confirmation=%.2f seconds=%.1f",
                 found.count, d.strongestSync, d.decodeAttempts - attemptsBefore, d.confirmationTests - testsBefore,
                 d.confirmations - confirmationsBefore, d.confirmationsRefused, d.strongestConfirmation, Double(mono.count) / 16000)
          + (primerMono.isEmpty ? "" : String(format: " primer_length=%.2f primer_range_end=%.2f", primerSeconds,
                                               all.filter { $0.start < primerSeconds }.map(\.end).max() ?? 0)))
case "windows":
    // Random windows of --length s inside [--start, --end], each read by a fresh detector:
    // correct = the expected payload was found, present = it or any payload was found or the
    // sync alone passed `presenceThreshold`.
    // With --primer P --gap G the detector first hears the P seconds that end G seconds before
    // the window, then G seconds of digital silence in place of the audio between: a stream
    // that has already yielded its payload, pauses, and resumes with the mark on the same grid
    // (--primer-file takes the primer from another file of the same length and format). Then
    // only a detection whose range reaches into the window counts; primed = the primer yielded
    // a payload, confirmed = the window's payload came from a confirmation.
    guard o.positional.count == 1 else { fail("windows needs IN") }
    let mono = analysisMono(readFloats(o.positional[0]), rate: rate, channels: channels)
    let primerSource = o.values["primer-file"].map { analysisMono(readFloats($0), rate: rate, channels: channels) } ?? mono
    let ar = WatermarkDetector.analysisSampleRate
    let length = Int(o.double("length", 3) * Double(ar))
    let primer = Int(o.double("primer", 0) * Double(ar)), gap = Int(o.double("gap", 0) * Double(ar))
    let lo = Int(o.double("start", 0) * Double(ar)) + primer + gap
    let hi = min(mono.count, Int(o.double("end", Double(mono.count) / Double(ar)) * Double(ar)))
    let count = o.int("count", 200)
    let expected = WatermarkPayload(id: UInt32(o.int("id", 1)))
    var g = UInt64(o.int("seed", 1)) &* 0x9E37_79B9_7F4A_7C15 | 1
    let k = key(o)
    var correct = 0, wrong = 0, present = 0, primed = 0, confirmed = 0, refused = 0
    let dump = o.values["dump"].flatMap { fopen($0, "a") }
    defer { if let dump { fclose(dump) } }
    guard hi - lo >= length else { fail("marked range shorter than primer, gap and window") }
    for _ in 0..<count {
        g ^= g << 13; g ^= g >> 7; g ^= g << 17
        let start = lo + Int(g % UInt64(hi - lo - length + 1))
        let d = WatermarkDetector(key: k, scaleSearch: o.values["scale-search"] != "off")
        var before = 0
        if primer > 0 {
            _ = primerSource[(start - gap - primer)..<(start - gap)].withUnsafeBufferPointer { d.process($0) }
            if !d.openRanges.isEmpty { primed += 1 }
            _ = d.process([Float](repeating: 0, count: gap))
            before = primer + gap
        }
        let confirmationsBefore = d.confirmations
        _ = mono[start..<(start + length)].withUnsafeBufferPointer { d.process($0) }
        let windowStart = Double(before) / Double(ar)
        let found = d.finish().filter { $0.end > windowStart + 0.1 }
        let ok = found.contains(where: { $0.payload == expected })
        if ok { correct += 1 }
        if found.contains(where: { $0.payload != expected }) { wrong += 1 }
        if !found.isEmpty || (primer == 0 && d.strongestSync >= WatermarkDetector.presenceThreshold) { present += 1 }
        if ok && d.confirmations > confirmationsBefore { confirmed += 1 }
        refused += d.confirmationsRefused
        if let dump {
            fputs(String(format: "%d %.3f %.3f %.3f %d\n", ok ? 1 : 0, d.strongestSync, d.strongestMatch,
                         d.strongestConfirmation, d.confirmations - confirmationsBefore), dump)
        }
    }
    print("windows=\(count) correct=\(correct) wrong=\(wrong) present=\(present)"
          + (primer > 0 ? " primed=\(primed) confirmed=\(confirmed) refused=\(refused)" : ""))
case "addnoise":
    // White Gaussian noise at --snr dB below the file's own power (all channels, whole file).
    guard o.positional.count == 2 else { fail("addnoise needs IN and OUT") }
    var x = readFloats(o.positional[0])
    var power = 0.0
    for v in x { power += Double(v * v) }
    power /= Double(max(1, x.count))
    let sigma = (power / pow(10, o.double("snr", 20) / 10)).squareRoot()
    var g = UInt64(o.int("seed", 1)) &* 0x9E37_79B9_7F4A_7C15 | 1
    func uniform() -> Double {
        g ^= g << 13; g ^= g >> 7; g ^= g << 17
        return (Double(g >> 11) + 0.5) / Double(1 << 53)
    }
    for i in 0..<x.count {   // Box-Muller
        let n = (-2 * log(uniform())).squareRoot() * cos(2 * Double.pi * uniform())
        x[i] += Float(sigma * n)
    }
    writeFloats(o.positional[1], x)
case "speed":
    runSpeed()
default:
    fail("unknown subcommand \(args[1])")
}
