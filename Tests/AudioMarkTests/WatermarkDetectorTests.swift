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

    // MARK: windows shorter than one 2.56 s period, and confirmation

    @Test func twoSecondWindowsYieldThePayload() throws {
        // A 2 s window sees ~78% of the coded bits; the rest are erasures for the Viterbi decoder.
        let rate = WatermarkDetector.analysisSampleRate
        let y = try TestSignals.embed(TestSignals.music(seconds: 12, rate: rate, seed: 4), rate: rate, channels: 1, id: 2024)
        for k in 0..<8 {
            let a = rate / 2 + k * 1237 * 11           // 8 starts spread over 0.5-6.5 s, any sample phase
            let (found, d) = TestSignals.detectMono(Array(y[a..<(a + 2 * rate)]))
            #expect(found.map(\.payload) == [WatermarkPayload(id: 2024)], "window at \(a)")
            #expect(found.allSatisfy { $0.verified })
            #expect(d.confirmations == 0)
        }
    }

    @Test func shortInputIsDecodedFromWhatThereIs() throws {
        let rate = WatermarkDetector.analysisSampleRate
        let y = try TestSignals.embed(TestSignals.music(seconds: 6, rate: rate, seed: 4), rate: rate, channels: 1, id: 2024)
        // 1.5 s clips (59% of the coded bits): decoded at `finish`, most of the time. 20 clips
        // (5 before): which of them decode depends on the codeword, and 5 are too few to tell a
        // rate (after the switch to the MAC check, 2 of the first 5 decode, 15 of these 20; the
        // sweep's clips decode 99-100% of 1.5 s windows).
        var decoded = 0
        for k in 0..<20 {
            let a = rate / 2 + k * 3001
            let (found, _) = TestSignals.detectMono(Array(y[a..<(a + 3 * rate / 2)]))
            #expect(found.allSatisfy { $0.payload.id == 2024 })
            if !found.isEmpty { decoded += 1 }
        }
        print("1.5 s clips decoded: \(decoded) of 20")
        #expect(decoded >= 12)
        // Under 1 s nothing is tried: no decode attempt, no chance of a false payload.
        let (none, d) = TestSignals.detectMono(Array(y[rate..<(rate + 9 * rate / 10)]))
        #expect(none.isEmpty && d.decodeAttempts == 0)
    }

    @Test func twoSecondWindowsOfUnmarkedAudioOrWrongKeyFindNothing() throws {
        let rate = WatermarkDetector.analysisSampleRate
        let x = TestSignals.music(seconds: 12, rate: rate, seed: 8)
        let y = try TestSignals.embed(x, rate: rate, channels: 1, id: 5)
        let wrong = try WatermarkKey(secret: Array("not the key that made it".utf8))
        for k in 0..<8 {
            let a = k * 1237 * 11
            for (audio, key) in [(x, WatermarkKey.demo), (y, wrong)] {
                let (found, d) = TestSignals.detectMono(Array(audio[a..<(a + 2 * rate)]), key: key)
                #expect(found.isEmpty)
                #expect(d.strongestSync < WatermarkDetector.presenceThreshold)
            }
        }
    }

    @Test func confirmationFindsTheMarkReturningAfterAPause() throws {
        // Marked 0-4 s, 4 s of silence, then 2 s of the mark under white noise at 17 dB SNR:
        // too weak to decode blind in 2 s, but it matches the payload read before.
        let rate = WatermarkDetector.analysisSampleRate
        let y = try TestSignals.embed(TestSignals.music(seconds: 12, rate: rate, seed: 4), rate: rate, channels: 1, id: 2024)
        let back = TestSignals.addNoise(Array(y[(8 * rate)..<(10 * rate)]), snr: 17)
        let (cold, _) = TestSignals.detectMono(back)
        #expect(cold.isEmpty, "the noisy 2 s alone must not decode, or this test proves nothing")
        let (found, d) = TestSignals.detectMono(Array(y[..<(4 * rate)]) + [Float](repeating: 0, count: 4 * rate) + back)
        #expect(found.count == 2)
        let first = try #require(found.first), second = try #require(found.last)
        #expect(first.payload.id == 2024 && first.verified && first.end < 4.2)
        #expect(second.payload.id == 2024 && !second.verified)
        #expect(abs(second.start - 8) < 0.3 && second.end > 9.5, "range \(second)")
        #expect(second.confidence >= WatermarkDetector.confirmationThreshold)
        #expect(d.confirmations > 0)
    }

    @Test func confirmationDoesNotFireOnUnmarkedAudio() throws {
        // After a payload has been read, 20 s of unmarked music: no new range, and the
        // confirmation z-scores stay far below the threshold.
        let rate = WatermarkDetector.analysisSampleRate
        let y = try TestSignals.embed(TestSignals.music(seconds: 4, rate: rate, seed: 4), rate: rate, channels: 1, id: 2024)
        let detector = WatermarkDetector(key: .demo)
        _ = detector.process(y)
        let tests = detector.confirmationTests
        var strongest = 0.0
        let unmarked = TestSignals.music(seconds: 20, rate: rate, seed: 11)
        for i in stride(from: 0, to: unmarked.count, by: rate / 2) {
            let before = detector.confirmationTests
            _ = detector.process(Array(unmarked[i..<min(unmarked.count, i + rate / 2)]))
            // Windows reach 3 s back: from 3.5 s on they hold no marked audio.
            if i >= 3 * rate, detector.confirmationTests > before { strongest = max(strongest, detector.lastConfirmation) }
        }
        let found = detector.finish()
        #expect(found.count == 1 && found[0].end < 4.2, "\(found)")
        #expect(detector.confirmationTests > tests + 50)
        #expect(strongest < 4.5)
    }

    @Test func anotherIdOnTheSameGridIsNotConfirmedAsTheFirst() throws {
        // The stream switches from id 2024 to 2025 (one bit apart: 38% of the coded bits and the
        // whole sync agree) at 5.12 s, on the same grid, the second id under noise so that some
        // of its windows do not decode: the first id's range must not run on into the second.
        let rate = WatermarkDetector.analysisSampleRate
        let x = TestSignals.music(seconds: 16, rate: rate, seed: 4)
        let a = try TestSignals.embed(x, rate: rate, channels: 1, id: 2024)
        let b = try TestSignals.embed(x, rate: rate, channels: 1, id: 2025)
        let cut = 2 * MarkGrid.pairsPerPeriod * 320                  // 5.12 s: whole periods, same grid
        for snr in [99.0, 15, 12] {
            let (found, _) = TestSignals.detectMono(Array(a[..<cut]) + TestSignals.addNoise(Array(b[cut...]), snr: snr, seed: 9))
            let first = found.filter { $0.payload.id == 2024 }
            #expect(first.count == 1 && first[0].end < 5.12 + 0.8, "snr \(snr): \(found)")
            #expect(found.allSatisfy { $0.payload.id == 2024 || $0.payload.id == 2025 })
            if snr > 20 { #expect(found.contains { $0.payload.id == 2025 && $0.end > 15.5 }) }
        }
    }
}
