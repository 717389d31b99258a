import Testing
import Foundation
@testable import AudioMark

@Suite struct WatermarkDetectorTests {
    @Test(arguments: [(48000, 2), (44100, 1), (48000, 6)])
    func roundTrip(rate: Int, channels: Int) throws {
        let x = TestSignals.interleave(TestSignals.music(seconds: 5, rate: rate, seed: UInt64(rate + channels)), channels: channels)
        let y = try TestSignals.embed(x, rate: rate, channels: channels, id: 0xC0FFEE)
        let found = TestSignals.detect(y, rate: rate, channels: channels)
        #expect(found.count == 1)
        let d = try #require(found.first)
        #expect(d.payload == WatermarkPayload(synthetic: true, id: 0xC0FFEE))
        #expect(d.start < 1.0 && d.end > 4.0, "range \(d)")
        #expect(d.confidence > 8)
    }

    @Test func findsTheMarkedRangeOnly() throws {
        let rate = 48000
        let x = TestSignals.music(seconds: 12, rate: rate, seed: 9)
        let y = try TestSignals.embed(x, rate: rate, channels: 1, id: 4242, activeRange: (4 * rate)..<(10 * rate))
        let found = TestSignals.detect(y, rate: rate, channels: 1)
        #expect(found.count == 1)
        let d = try #require(found.first)
        #expect(d.payload.id == 4242)
        #expect(abs(d.start - 4) < 0.6 && abs(d.end - 10) < 0.6, "range \(d)")
    }

    @Test func wrongKeyAndUnmarkedAudioFindNothing() throws {
        let rate = 48000
        let x = TestSignals.music(seconds: 6, rate: rate, seed: 3)
        let y = try TestSignals.embed(x, rate: rate, channels: 1, id: 1)
        let wrong = try WatermarkKey(secret: Array("not the key that made it".utf8))
        #expect(TestSignals.detect(y, rate: rate, channels: 1, key: wrong).isEmpty)
        #expect(TestSignals.detect(x, rate: rate, channels: 1).isEmpty)
        let silence = [Float](repeating: 0, count: 4 * rate)
        #expect(TestSignals.detect(silence, rate: rate, channels: 1).isEmpty)
    }

    @Test func survivesVolumeChangeAndCut() throws {
        let rate = 48000
        let x = TestSignals.music(seconds: 6, rate: rate, seed: 5)
        var y = try TestSignals.embed(x, rate: rate, channels: 1, id: 777)
        y = Array(y.dropFirst(12_345)).map { $0 * 0.316 }          // -10 dB, cut mid-frame
        let found = TestSignals.detect(y, rate: rate, channels: 1)
        #expect(found.map(\.payload) == [WatermarkPayload(id: 777)])
    }

    @Test func streamingReportsFinishedRangesOnce() throws {
        // Marked 1-5 s, then 5 s unmarked: the range must come out of `process` while streaming
        // (once it is over), exactly once, and equal what a one-shot detection finds.
        let rate = 48000
        let x = TestSignals.music(seconds: 10, rate: rate, seed: 2)
        let y = try TestSignals.embed(x, rate: rate, channels: 1, id: 31, activeRange: rate..<(5 * rate))
        let mono = Resampler.resample(y, from: rate, to: WatermarkDetector.analysisSampleRate)
        let d = WatermarkDetector(key: .demo)
        var streamed: [WatermarkDetection] = []
        var sawOpen = false
        var i = 0
        while i < mono.count {
            let n = min(333, mono.count - i)
            streamed += d.process(Array(mono[i..<(i + n)]))
            sawOpen = sawOpen || !d.openRanges.isEmpty
            i += n
        }
        #expect(sawOpen)
        #expect(streamed.count == 1)
        #expect(streamed.first?.payload.id == 31)
        let all = d.finish()
        #expect(all == streamed)
        #expect(all == TestSignals.detect(y, rate: rate, channels: 1))
    }
}
