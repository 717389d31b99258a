import Testing
@testable import Labelcast

/// Frames missing from a stream's timestamps, against its frame duration: what a lossy link
/// took, while the jitter of millisecond timestamps and a long pause are not loss.
@Suite struct UpstreamLossTests {
    @Test func rtmpMillisecondJitterIsNotLoss() {
        var loss = UpstreamLoss()
        var lost = 0
        // 30 fps in milliseconds (33, 34, 33 … ms steps) and AAC frames of 21.33 ms rounded.
        for i in 0..<300 {
            lost += loss.observe(index: 0, time: (Double(i) * 1000 / 30).rounded() / 1000, durationSeconds: 0,
                                 frameSeconds: 1.0 / 30, corrupt: false).lost
            lost += loss.observe(index: 1, time: (Double(i) * 1024 / 48).rounded() / 1000, durationSeconds: 0,
                                 frameSeconds: 1024.0 / 48000, corrupt: false).lost
        }
        #expect(lost == 0)
    }

    @Test func gapsCountTheFramesMissing() {
        var loss = UpstreamLoss()
        var lost = 0, corrupt = 0
        let missing: Set<Int> = [10, 11, 12, 40, 77]
        for i in 0..<100 where !missing.contains(i) {
            let f = loss.observe(index: 0, time: Double(i) / 25, durationSeconds: 0.04, frameSeconds: 0.04, corrupt: i == 41)
            lost += f.lost
            corrupt += f.corrupt
        }
        #expect(lost == 5)
        #expect(corrupt == 1)
    }

    @Test func aPauseOrAResetIsNotLoss() {
        var loss = UpstreamLoss()
        #expect(loss.observe(index: 0, time: 0, durationSeconds: 0.04, frameSeconds: nil, corrupt: false).lost == 0)
        // A source that paused 6 s (longer than UpstreamLoss.longestGap).
        #expect(loss.observe(index: 0, time: 6.04, durationSeconds: 0.04, frameSeconds: nil, corrupt: false).lost == 0)
        loss.reset()
        #expect(loss.observe(index: 0, time: 9, durationSeconds: 0.04, frameSeconds: nil, corrupt: false).lost == 0)
        // No duration and no frame rate: nothing to measure against.
        #expect(loss.observe(index: 2, time: 0, durationSeconds: 0, frameSeconds: nil, corrupt: false).lost == 0)
        #expect(loss.observe(index: 2, time: 3, durationSeconds: 0, frameSeconds: nil, corrupt: false).lost == 0)
    }
}
