import CFFmpeg
import Foundation
import MediaIO

/// The demo's own source, generated in memory: a moving test picture with a running clock and
/// a tone with speech-like bursts, written to a file so the demo can run the real pipeline on it
/// (and so a user can compare source and result).
public enum DemoSource {
    public struct Settings: Sendable {
        public var width = 1280
        public var height = 720
        public var frameRate = 30
        public var seconds = 12.0
        public var sampleRate = 48_000
        public init() {}
    }

    /// Writes the generated source to `path` (container from the extension).
    public static func write(to path: String, settings s: Settings = Settings()) throws {
        let muxer = try Muxer(url: path, format: nil)
        var vs = VideoEncoderSettings(width: s.width, height: s.height, pixelFormat: AV_PIX_FMT_YUV420P,
                                      timeBase: Rational(1, Int32(s.frameRate)), frameRate: Rational(Int32(s.frameRate), 1))
        vs.options = ["preset": "veryfast", "crf": "18"]
        vs.gopSize = s.frameRate * 2
        let venc = try Encoder(video: vs, globalHeader: muxer.needsGlobalHeader)
        var asettings = AudioEncoderSettings(sampleRate: s.sampleRate, channels: 2)
        asettings.bitRate = 192_000
        let aenc = try Encoder(audio: asettings, globalHeader: muxer.needsGlobalHeader)
        let vi = try muxer.addStream(encoder: venc)
        let ai = try muxer.addStream(encoder: aenc)
        muxer.setMetadata("title", "labelcast demo source")
        try muxer.writeHeader(options: muxer.formatName.contains("mp4") ? ["movflags": "+faststart"] : [:])

        func drain(_ enc: Encoder, _ index: Int) throws {
            while case .output(let p) = try enc.receive() { try muxer.write(p, stream: index, timeBase: enc.timeBase) }
        }
        func send(_ enc: Encoder, _ frame: Frame?, _ index: Int) throws {
            while try enc.send(frame) == .full { try drain(enc, index) }
            try drain(enc, index)
        }

        let frames = Int(s.seconds * Double(s.frameRate))
        let audioFrame = aenc.frameSize > 0 ? aenc.frameSize : 1024
        let totalSamples = Int(s.seconds * Double(s.sampleRate))
        var samplesDone = 0
        var speech = SpeechLikeTone(sampleRate: s.sampleRate)
        for n in 0..<frames {
            let frame = try Frame.video(width: s.width, height: s.height, pixelFormat: AV_PIX_FMT_YUV420P)
            drawPicture(frame, index: n, frameRate: s.frameRate)
            frame.pts = Int64(n)
            try send(venc, frame, vi)
            // Audio up to this picture's end, so the file interleaves naturally.
            let audioTarget = min(totalSamples, (n + 1) * s.sampleRate / s.frameRate)
            while samplesDone + audioFrame <= audioTarget || (n == frames - 1 && samplesDone < totalSamples) {
                let count = min(audioFrame, totalSamples - samplesDone)
                let af = try Frame.audio(samples: count, format: aenc.sampleFormat, channels: 2, sampleRate: s.sampleRate)
                let left = UnsafeMutableRawPointer(af.audioChannel(0)!).assumingMemoryBound(to: Float.self)
                let right = UnsafeMutableRawPointer(af.audioChannel(1)!).assumingMemoryBound(to: Float.self)
                for i in 0..<count {
                    let v = speech.next()
                    left[i] = v
                    right[i] = v * 0.9
                }
                af.pts = Int64(samplesDone)
                try send(aenc, af, ai)
                samplesDone += count
            }
        }
        try send(venc, nil, vi)
        try send(aenc, nil, ai)
        try muxer.finish()
    }

    /// A test picture: diagonal colour bands that scroll, a bouncing box, a frame counter clock.
    static func drawPicture(_ frame: Frame, index n: Int, frameRate: Int) {
        let w = frame.width, h = frame.height
        let y = frame.plane(0)!, u = frame.plane(1)!, v = frame.plane(2)!
        let ly = frame.linesize(0), lu = frame.linesize(1), lv = frame.linesize(2)
        let shift = n * 4
        for row in 0..<h {
            let line = y + row * ly
            for col in 0..<w { line[col] = UInt8(truncatingIfNeeded: 40 + ((col + row + shift) & 127)) }
        }
        for row in 0..<(h / 2) {
            let lineU = u + row * lu, lineV = v + row * lv
            for col in 0..<(w / 2) {
                let band = ((col * 2 + shift) / 160) % 6
                lineU[col] = UInt8(80 + band * 20)
                lineV[col] = UInt8(200 - band * 20)
            }
        }
        // Bouncing box.
        let size = h / 6
        let period = 2 * (w - size)
        var bx = (n * 12) % period
        if bx > w - size { bx = period - bx }
        let by = h / 2 + Int(Double(h / 4) * sin(Double(n) / 15))
        for row in max(0, by - size / 2)..<min(h, by + size / 2) {
            let line = y + row * ly
            for col in bx..<min(w, bx + size) { line[col] = 235 }
        }
        // Clock: seconds and frames, as 7-segment digits bottom-left.
        let t = Double(n) / Double(frameRate)
        let text = String(format: "%02d:%02d.%02d", Int(t) / 60, Int(t) % 60, n % frameRate)
        SevenSegment.draw(text, into: y, linesize: ly, width: w, height: h, x: h / 20, y: h - h / 6, digitHeight: h / 10)
    }
}

/// Speech-like audio over a quiet music bed, deterministic: voiced syllables (harmonics of a
/// moving pitch shaped by vowel formants up to ~3.5 kHz), fricative noise bursts between them,
/// pauses between phrases, and a soft chord underneath — broadband like real programme audio.
struct SpeechLikeTone {
    let sampleRate: Double
    var n = 0
    var phase = 0.0
    var noise: UInt32 = 0x1234_5678
    var lowpass = 0.0, highpass = 0.0, previous = 0.0
    /// (F1, F2, F3) of a few vowels, Hz.
    static let vowels: [(Double, Double, Double)] = [(730, 1090, 2440), (270, 2290, 3010), (530, 1840, 2480), (570, 840, 2410), (440, 1020, 2240)]
    init(sampleRate: Int) { self.sampleRate = Double(sampleRate) }

    mutating func next() -> Float {
        let t = Double(n) / sampleRate
        n += 1
        let syllableRate = 4.0
        let syllable = Int(t * syllableRate)
        let within = t * syllableRate - Double(syllable)
        let phraseOn = t.truncatingRemainder(dividingBy: 2.5) < 2.0
        let f0 = 120 + 60 * sin(2 * .pi * 0.37 * t) + 15 * sin(2 * .pi * 3.1 * t)
        phase += 2 * .pi * f0 / sampleRate
        if phase > 2 * .pi { phase -= 2 * .pi }
        let v = Self.vowels[syllable % Self.vowels.count]
        var voiced = 0.0
        var k = 1.0
        while k * f0 < 4000 {
            let f = k * f0
            // Formant resonances on a -6 dB/octave source.
            let env = 1 / k * (1.0 + 3 * exp(-pow((f - v.0) / 120, 2)) + 2 * exp(-pow((f - v.1) / 160, 2)) + 1.2 * exp(-pow((f - v.2) / 220, 2)))
            voiced += env * sin(phase * k)
            k += 1
        }
        let vowelGate = within > 0.15 && within < 0.85 ? sin(.pi * (within - 0.15) / 0.7) : 0
        // Fricative: high-passed noise at the start of every other syllable.
        noise = noise &* 1664525 &+ 1013904223
        let white = Double(Int32(bitPattern: noise)) / Double(Int32.max)
        highpass = 0.6 * (highpass + white - previous)
        previous = white
        let fricativeGate = syllable % 2 == 0 && within < 0.15 ? sin(.pi * within / 0.15) : 0
        // Music bed: a soft A minor chord with a slow swell.
        let bed = 0.04 * (1 + 0.3 * sin(2 * .pi * 0.2 * t)) * (sin(2 * .pi * 220 * t) + sin(2 * .pi * 261.63 * t) + sin(2 * .pi * 329.63 * t) + 0.5 * sin(2 * .pi * 440 * t))
        let speech = phraseOn ? 0.12 * voiced * vowelGate + 0.08 * highpass * fricativeGate : 0
        return Float(speech + bed)
    }
}

/// Draws digits and ':' '.' as seven-segment shapes into a luma plane.
enum SevenSegment {
    static let segments: [Character: [Int]] = [
        "0": [0, 1, 2, 4, 5, 6], "1": [2, 5], "2": [0, 2, 3, 4, 6], "3": [0, 2, 3, 5, 6], "4": [1, 2, 3, 5],
        "5": [0, 1, 3, 5, 6], "6": [0, 1, 3, 4, 5, 6], "7": [0, 2, 5], "8": [0, 1, 2, 3, 4, 5, 6], "9": [0, 1, 2, 3, 5, 6],
    ]
    static func draw(_ text: String, into plane: UnsafeMutablePointer<UInt8>, linesize: Int, width: Int, height: Int,
                     x: Int, y: Int, digitHeight: Int) {
        let dh = digitHeight, dw = dh / 2, th = max(2, dh / 10)
        func rect(_ x0: Int, _ y0: Int, _ w: Int, _ h: Int) {
            for r in max(0, y0)..<min(height, y0 + h) {
                let line = plane + r * linesize
                for c in max(0, x0)..<min(width, x0 + w) { line[c] = 235 }
            }
        }
        var cx = x
        for ch in text {
            if let segs = segments[ch] {
                for s in segs {
                    switch s {
                    case 0: rect(cx, y, dw, th)
                    case 1: rect(cx, y, th, dh / 2)
                    case 2: rect(cx + dw - th, y, th, dh / 2)
                    case 3: rect(cx, y + dh / 2 - th / 2, dw, th)
                    case 4: rect(cx, y + dh / 2, th, dh / 2)
                    case 5: rect(cx + dw - th, y + dh / 2, th, dh / 2)
                    default: rect(cx, y + dh - th, dw, th)
                    }
                }
                cx += dw + th * 2
            } else {
                if ch == ":" { rect(cx, y + dh / 4, th, th); rect(cx, y + 3 * dh / 4, th, th) }
                if ch == "." { rect(cx, y + dh - th, th, th) }
                cx += th * 3
            }
        }
    }
}
