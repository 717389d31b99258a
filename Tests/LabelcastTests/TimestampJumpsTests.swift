import Testing
@testable import Labelcast

/// A live source that restarts behind a server which keeps our session: its timestamps start
/// again near 0, and both streams must move onto one offset that carries media time on.
@Suite struct TimestampJumpsTests {
    @Test func steadyStreamsAreLeftAlone() {
        var j = TimestampJumps()
        for i in 0..<100 {
            #expect(j.offset(stream: 0, time: Double(i) / 30, resumeAt: 0).offset == 0)
            #expect(j.offset(stream: 1, time: Double(i) * 0.021, resumeAt: 0).offset == 0)
        }
        // A forward gap is not a jump.
        #expect(j.offset(stream: 0, time: 60, resumeAt: 60).offset == 0)
        // Small backward jitter (less than the threshold) neither.
        #expect(j.offset(stream: 0, time: 59.8, resumeAt: 60).offset == 0)
    }

    @Test func restartMovesBothStreamsOntoOneOffset() {
        var j = TimestampJumps()
        _ = j.offset(stream: 0, time: 31.454, resumeAt: 0)   // video, old source
        _ = j.offset(stream: 1, time: 31.467, resumeAt: 0)   // audio, old source
        // The new source: audio first at 0, video at 0.021; media carries on at 31.488.
        let a = j.offset(stream: 1, time: 0, resumeAt: 31.488)
        #expect(a.jumped && abs(a.offset - 31.488) < 1e-9)
        let v = j.offset(stream: 0, time: 0.021, resumeAt: 31.6)
        #expect(!v.jumped && abs(v.offset - 31.488) < 1e-9, "video takes the offset the audio set")
        // And keeps it.
        #expect(abs(j.offset(stream: 0, time: 0.054, resumeAt: 40).offset - 31.488) < 1e-9)
        #expect(abs(j.offset(stream: 1, time: 0.021, resumeAt: 40).offset - 31.488) < 1e-9)
    }

    @Test func aStragglerOfTheOldSourceKeepsItsOwnClock() {
        var j = TimestampJumps()
        _ = j.offset(stream: 0, time: 20, resumeAt: 0)
        _ = j.offset(stream: 1, time: 19.99, resumeAt: 0)
        #expect(j.offset(stream: 0, time: 0.02, resumeAt: 20.02).jumped)
        // Audio still from the old source: no offset; then its new packets take the video's.
        #expect(j.offset(stream: 1, time: 20.01, resumeAt: 20.05).offset == 0)
        #expect(abs(j.offset(stream: 1, time: 0, resumeAt: 20.05).offset - 20.0) < 1e-9)
    }

    @Test func secondRestartStacks() {
        var j = TimestampJumps()
        _ = j.offset(stream: 0, time: 10, resumeAt: 0)
        #expect(j.offset(stream: 0, time: 0, resumeAt: 10.04).jumped)
        _ = j.offset(stream: 0, time: 5, resumeAt: 15.04)         // 15.04 on the clock
        let again = j.offset(stream: 0, time: 0, resumeAt: 15.1)
        #expect(again.jumped && abs(again.offset - 15.1) < 1e-9)
    }
}
