import Testing
import Foundation
@testable import AudioMark

@Suite struct WatermarkEmbedderTests {
    @Test(arguments: [8000, 16000, 22050, 44100, 48000, 96000])
    func latencyIsAtMost50ms(rate: Int) throws {
        let e = try WatermarkEmbedder(sampleRate: rate, channels: 2, key: .demo, payload: WatermarkPayload(id: 1))
        #expect(Double(e.latencyFrames) / Double(rate) <= 0.050)
        #expect(Double(e.latencyFrames) / Double(rate) >= 0.020)
    }

    @Test func rejectsBadConfiguration() {
        #expect(throws: WatermarkError.unsupportedSampleRate(4000)) {
            try WatermarkEmbedder(sampleRate: 4000, channels: 1, key: .demo, payload: WatermarkPayload(id: 1))
        }
        #expect(throws: WatermarkError.unsupportedChannelCount(0)) {
            try WatermarkEmbedder(sampleRate: 48000, channels: 0, key: .demo, payload: WatermarkPayload(id: 1))
        }
    }

    @Test func outputIsInputDelayedByLatency() throws {
        // Inactive: the output is exactly the input, delayed; drain returns the rest.
        let x = TestSignals.music(seconds: 0.5, rate: 48000)
        let e = try WatermarkEmbedder(sampleRate: 48000, channels: 1, key: .demo, payload: WatermarkPayload(id: 5))
        var y = x
        y.withUnsafeMutableBufferPointer { e.process([$0.baseAddress!], frameCount: x.count, active: false) }
        let tail = e.drain()
        #expect(tail.count == 1 && tail[0].count == e.latencyFrames)
        let out = Array((y + tail[0]).dropFirst(e.latencyFrames))
        #expect(out == x)
        #expect(y.prefix(e.latencyFrames).allSatisfy { $0 == 0 })
    }

    @Test func digitalSilenceStaysExactlySilent() throws {
        // Music with gaps of digital silence and a channel that is silent throughout.
        var mono = TestSignals.music(seconds: 3, rate: 48000)
        for i in 48000..<72000 { mono[i] = 0 }
        for i in stride(from: 100, to: mono.count, by: 997) { mono[i] = 0 }   // isolated zeros too
        var x = TestSignals.interleave(mono, channels: 2)
        for i in 0..<mono.count { x[2 * i + 1] = 0 }
        let y = try TestSignals.embed(x, rate: 48000, channels: 2, id: 3)
        for i in 0..<x.count where x[i] == 0 { #expect(y[i] == 0); if y[i] != 0 { break } }
        #expect(zip(x, y).filter { $0.0 == 0 }.allSatisfy { $0.1 == 0 })
        #expect(zip(x, y).contains { $0.0 != $0.1 })   // but the music did get marked
        let zeros = [Float](repeating: 0, count: 96000)
        #expect(try TestSignals.embed(zeros, rate: 48000, channels: 2, id: 3) == zeros)
    }

    @Test func resultDoesNotDependOnChunking() throws {
        let x = TestSignals.interleave(TestSignals.music(seconds: 2, rate: 44100), channels: 2)
        let range = 20000..<70000
        let a = try TestSignals.embed(x, rate: 44100, channels: 2, id: 77, activeRange: range, chunks: [100_000])
        let b = try TestSignals.embed(x, rate: 44100, channels: 2, id: 77, activeRange: range, chunks: [1, 7, 300, 4096, 13, 511, 1024])
        #expect(a == b)
    }

    @Test func markIsQuietAndRampedAtSegmentEdges() throws {
        let rate = 48000
        let mono = TestSignals.music(seconds: 3, rate: rate)
        let x = TestSignals.interleave(mono, channels: 2)
        let range = 48000..<120000
        let y = try TestSignals.embed(x, rate: rate, channels: 2, id: 11, activeRange: range)
        // Outside the active range the output is the input, bit for bit.
        for i in 0..<(x.count / 2) where !range.contains(i) {
            if x[2 * i] != y[2 * i] { Issue.record("sample \(i) changed outside the active range"); break }
        }
        // Inside, the mark is >= 30 dB below the signal.
        let xs = Array(x[(2 * range.lowerBound)..<(2 * range.upperBound)]), ys = Array(y[(2 * range.lowerBound)..<(2 * range.upperBound)])
        #expect(TestSignals.snr(xs, ys) >= 30)
        // The difference starts from zero: in the first 1 ms of the segment it stays far below
        // its level a little later, and likewise at the end (raised-cosine ramps, no click).
        func peakDiff(_ r: Range<Int>) -> Float { r.map { abs(y[2 * $0] - x[2 * $0]) }.max() ?? 0 }
        let startEdge = peakDiff(range.lowerBound..<(range.lowerBound + 48))
        let endEdge = peakDiff((range.upperBound - 48)..<range.upperBound)
        let body = peakDiff((range.lowerBound + 4800)..<(range.upperBound - 4800))
        #expect(body > 0)
        #expect(startEdge < 0.1 * body)
        #expect(endEdge < 0.1 * body)
    }

    @Test(arguments: [1, 6])
    func channelCounts(channels: Int) throws {
        let x = TestSignals.interleave(TestSignals.music(seconds: 1, rate: 48000), channels: channels)
        let y = try TestSignals.embed(x, rate: 48000, channels: channels, id: 9)
        #expect(y.count == x.count)
        for c in 0..<channels {
            let xc = stride(from: c, to: x.count, by: channels).map { x[$0] }
            let yc = stride(from: c, to: y.count, by: channels).map { y[$0] }
            let snr = TestSignals.snr(xc, yc)
            #expect(snr >= 30 && snr < 60, "channel \(c): SNR \(snr) dB")
        }
    }
}
