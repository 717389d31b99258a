import Foundation
import Testing
import AudioMark
@testable import Labelcast

@Suite struct SegmentScheduleTests {
    @Test func parsesListWithOpenEnd() throws {
        let r = try SegmentSchedule.parse(list: "5-12.5,30-")
        #expect(r == [SyntheticRange(start: 5, end: 12.5), SyntheticRange(start: 30, end: nil)])
    }

    @Test func parsesSpacesAndFractions() throws {
        let r = try SegmentSchedule.parse(list: " 0-0.5 , 1.25-2 ")
        #expect(r == [SyntheticRange(start: 0, end: 0.5), SyntheticRange(start: 1.25, end: 2)])
    }

    @Test(arguments: [
        ("12-5", "segment 1 (12-5)", "reversed"),
        ("5-5", "segment 1", "not after start"),
        ("-3-4", "segment 1", "negative"),
        ("abc", "segment 1 'abc'", "START-END"),
        ("1-x", "end 'x'", "not a number"),
        ("y-3", "start 'y'", "not a number"),
        ("1-3,,5-6", "segment 2", "empty entry"),
        ("1-5,4-8", "segment 2", "overlaps segment 1"),
        ("10-12,1-3", "segment 2", "time order"),
        ("1-,5-6", "segment 2", "end of the stream"),
        ("", "--segments is empty", "5-12.5"),
        ("1e400-2", "start", "not a number"),
    ])
    func rejectsBadLists(input: String, mentions: String, reason: String) {
        do {
            _ = try SegmentSchedule.parse(list: input)
            Issue.record("'\(input)' was accepted")
        } catch let e as ScheduleError {
            #expect(e.message.contains(mentions), "\(e.message)")
            #expect(e.message.contains(reason), "\(e.message)")
            #expect(!e.message.contains("\n"))
        } catch { Issue.record("unexpected \(error)") }
    }

    @Test func parsesJSONFile() throws {
        let json = #"{"segments":[{"start":5,"end":12.5},{"start":30}]}"#
        let r = try SegmentSchedule.parse(json: Data(json.utf8))
        #expect(r == [SyntheticRange(start: 5, end: 12.5), SyntheticRange(start: 30)])
    }

    @Test(arguments: [
        (#"{"segments":[{"start":"5"}]}"#, "segments[0].start"),
        (#"{"segs":[]}"#, "missing \"segments\""),
        (#"not json"#, "not valid schedule JSON"),
        (#"{"segments":[{"end":3}]}"#, "segment 1 has no \"start\""),
        (#"{"segments":[{"start":4,"end":2}]}"#, "reversed"),
        (#"{"segments":[{"start":1,"end":5},{"start":2,"end":3}]}"#, "overlaps"),
    ])
    func rejectsBadJSON(json: String, mentions: String) {
        #expect(throws: ScheduleError.self) { try SegmentSchedule.parse(json: Data(json.utf8)) }
        do { _ = try SegmentSchedule.parse(json: Data(json.utf8)) } catch {
            #expect("\(error)".contains(mentions), "\(error)")
        }
    }

    @Test func missingFileSaysSo() {
        do { _ = try SegmentSchedule.load(file: "/nonexistent/s.json"); Issue.record("accepted") } catch {
            #expect("\(error)".contains("does not exist"))
        }
    }
}

@Suite struct SyntheticTimelineTests {
    @Test func rangesAreHalfOpen() {
        let t = SyntheticTimeline(ranges: [SyntheticRange(start: 4, end: 8), SyntheticRange(start: 10)])
        #expect(!t.isSynthetic(at: 3.999))
        #expect(t.isSynthetic(at: 4))
        #expect(t.isSynthetic(at: 7.999))
        #expect(!t.isSynthetic(at: 8))
        #expect(t.isSynthetic(at: 1e6))
        #expect(t.nextBoundary(after: 0) == 4)
        #expect(t.nextBoundary(after: 4) == 8)
        #expect(t.nextBoundary(after: 8) == 10)
        #expect(t.nextBoundary(after: 10) == nil)
    }

    @Test func modes() {
        #expect(SyntheticTimeline(mode: .all).isSynthetic(at: 0))
        #expect(SyntheticTimeline(mode: .all).nextBoundary(after: 0) == nil)
        #expect(!SyntheticTimeline(mode: .none).isSynthetic(at: 0))
        // Segments win over the mode.
        #expect(!SyntheticTimeline(mode: .all, ranges: [SyntheticRange(start: 5, end: 6)]).isSynthetic(at: 1))
    }
}

@Suite struct RedactionTests {
    @Test(arguments: [
        ("rtmp://user:secret@host/app/key", "rtmp://***@host/app/***"),
        // The stream key: the path after the application, as CDNs issue them.
        ("rtmp://a.rtmp.youtube.com/live2/abcd-efgh-ijkl-mnop-qrst", "rtmp://a.rtmp.youtube.com/live2/***"),
        ("rtmps://live.example:443/app/inst/secretkey?x=1&token=t9", "rtmps://live.example:443/app/***?x=1&token=***"),
        ("rtmp://127.0.0.1:1935/live", "rtmp://127.0.0.1:1935/live"),
        ("RTMP://host/app/secret", "RTMP://host/app/***"),
        ("srt://host:9000?mode=caller&passphrase=hunter22", "srt://host:9000?mode=caller&passphrase=***"),
        ("srt://host:9000?passphrase=a&latency=20", "srt://host:9000?passphrase=***&latency=20"),
        ("udp://127.0.0.1:1234", "udp://127.0.0.1:1234"),
        ("/tmp/in.mp4", "/tmp/in.mp4"),
        ("http://h/a@b/x.m3u8?token=t", "http://h/a@b/x.m3u8?token=***"),
    ])
    func removesSecrets(url: String, expected: String) {
        let r = Redaction.url(url)
        #expect(r == expected)
        #expect(!r.contains("secret") && !r.contains("hunter22"))
    }

    /// Free text: every URL in a line redacted, wherever it sits, and registered secrets
    /// replaced even outside a URL (FFmpeg's `playpath`, a quoted passphrase).
    @Test func redactsURLsAndRegisteredSecretsInText() {
        let line = "[rtmp @ 0x1] Opening 'rtmp://u:pw-0000@h/live2/zz-key-1234-5678' for writing, playpath=zz-key-1234-5678, "
            + "then srt://h:1?passphrase=pp-99887766 failed"
        Redaction.register(url: "rtmp://u:pw-0000@h/live2/zz-key-1234-5678")
        let r = Redaction.text(line)
        #expect(!r.contains("zz-key-1234-5678") && !r.contains("pw-0000") && !r.contains("pp-99887766"), "\(r)")
        #expect(r.contains("'rtmp://***@h/live2/***'") && r.contains("passphrase=***"), "\(r)")
        // Short values are not replaced literally: a stream named `s` must not blank every s.
        Redaction.register("s")
        #expect(Redaction.text("streams") == "streams")
    }

    @Test func keysAndTokensDoNotPrintThemselves() throws {
        let key = try WatermarkKey(secret: Array("key-bytes-abcdefgh".utf8))
        let token = try ControlToken("token-value-123")
        for text in ["\(key)", String(reflecting: key), "\(token)", String(reflecting: token), "\([key])", "\(Optional(token) as Any)"] {
            #expect(!text.contains("key-bytes") && !text.contains("token-value") && !text.contains("107, 101"), "\(text)")
        }
        var dumped = ""
        dump(key, to: &dumped)
        dump(token, to: &dumped)
        #expect(!dumped.contains("107") && !dumped.contains("token-value"), "\(dumped)")
        #expect(throws: LabelcastError.self) { try ControlToken("short12") }
    }
}

@Suite struct LiveSwitchTests {
    @Test func switchOnRunsUntilSwitchedOffAndKeepsTheSchedule() {
        let t = SyntheticTimeline(ranges: [SyntheticRange(start: 100, end: 110)])
        #expect(t.switchState(on: true, at: 10, source: "control 127.0.0.1"))
        #expect(t.isSynthetic(at: 10) && t.isSynthetic(at: 50) && t.isSynthetic(at: 200))
        #expect(t.range(at: 20)?.source == "control 127.0.0.1")
        #expect(!t.switchState(on: true, at: 20, source: "control"), "already on")
        #expect(t.switchState(on: false, at: 30, source: "control"))
        #expect(t.isSynthetic(at: 29.999) && !t.isSynthetic(at: 30))
        // A switch never deletes what was scheduled for later (issue 15, item 8).
        #expect(t.isSynthetic(at: 105) && !t.isSynthetic(at: 110))
        #expect(t.range(at: 105)?.source == "schedule")
        #expect(!t.switchState(on: false, at: 40, source: "control"), "already off")
    }

    /// The reported case: POST 14.268-18.268, then PUT on at 9.801 and off at 11.334.
    @Test func putDoesNotDeleteAPostedSegment() throws {
        let t = SyntheticTimeline()
        try t.add(SyntheticRange(start: 14.268, end: 18.268, source: "control"))
        #expect(t.switchLive(on: true, at: 9.801, source: "control").changed)
        let off = t.switchLive(on: false, at: 11.334, source: "control")
        #expect(off.changed && off.cut.isEmpty)
        #expect(!t.isSynthetic(at: 12) && t.isSynthetic(at: 14.268) && t.isSynthetic(at: 18.2) && !t.isSynthetic(at: 18.268))
        #expect(t.scheduled.count == 1)
    }

    @Test func switchOffInsideAScheduledRangeEndsItThereAndSaysSo() {
        let t = SyntheticTimeline(ranges: [SyntheticRange(start: 5, end: 10), SyntheticRange(start: 20, end: 30)])
        let off = t.switchLive(on: false, at: 7, source: "control")
        #expect(off.changed && off.cut == [SyntheticRange(start: 5, end: 10)])
        #expect(t.isSynthetic(at: 6.9) && !t.isSynthetic(at: 7) && t.isSynthetic(at: 25))
        #expect(t.range(at: 25)?.source == "schedule")
        // Switching on inside a scheduled range: synthetic until switched off, past its end.
        #expect(t.switchState(on: true, at: 22, source: "control"))
        #expect(t.isSynthetic(at: 1000))
        #expect(t.ranges.count == 2)
        // Off again at 25: the scheduled range ends there too (it was running).
        #expect(t.switchState(on: false, at: 25, source: "control"))
        #expect(!t.isSynthetic(at: 26) && !t.isSynthetic(at: 1000))
    }

    @Test func addRejectsOverlap() throws {
        let t = SyntheticTimeline(ranges: [SyntheticRange(start: 5, end: 10)])
        try t.add(SyntheticRange(start: 12, end: 14, source: "control"))
        #expect(t.isSynthetic(at: 13))
        #expect(throws: ScheduleError.self) { try t.add(SyntheticRange(start: 9, end: 11)) }
        #expect(t.nextBoundary(after: 10) == 12)
    }

    @Test func allModeCanBeSwitchedOff() {
        let t = SyntheticTimeline(mode: .all)
        #expect(t.range(at: 0)?.source == "all")
        #expect(t.switchState(on: false, at: 3, source: "control"))
        #expect(t.isSynthetic(at: 2.9) && !t.isSynthetic(at: 3))
    }

    /// `--synthetic all` covers every media time, negative included (a first frame without
    /// pts, audio that starts before the video origin); so does a segment starting at 0.
    @Test func mediaTimeBeforeZeroIsTheStreamStart() {
        #expect(SyntheticTimeline(mode: .all).isSynthetic(at: -0.5))
        #expect(SyntheticTimeline(ranges: [SyntheticRange(start: 0, end: 3)]).isSynthetic(at: -0.021))
        #expect(!SyntheticTimeline(ranges: [SyntheticRange(start: 1, end: 3)]).isSynthetic(at: -0.021))
        #expect(SyntheticTimeline(mode: .all).isSynthetic(from: -0.05, to: -0.01))
    }

    /// A chunk is synthetic when any of its samples is.
    @Test func intervalQuery() {
        let t = SyntheticTimeline(ranges: [SyntheticRange(start: 5, end: 6)])
        #expect(t.isSynthetic(from: 4.99, to: 5.01))
        #expect(t.isSynthetic(from: 5.99, to: 6.01))
        #expect(!t.isSynthetic(from: 4.9, to: 5))
        #expect(!t.isSynthetic(from: 6, to: 7))
    }

    /// The answered switch instant is on the microsecond grid and exactly what the control
    /// API prints, and a frame whose media time is that value computed from pts is on the
    /// answered side (2 of 25 switches missed it when the answer was rounded to the ms).
    @Test func switchInstantIsExact() {
        for newest in [9.8003, 9.8014, 0.0, 123.456789, 3599.99995] {
            let t = LiveControl.switchTime(after: newest)
            #expect(t > newest + 0.000999 && t < newest + 0.0021)
            #expect(LiveControl.round(t) == t)
            let timeline = SyntheticTimeline()
            timeline.switchState(on: true, at: t, source: "control")
            // The same instant as a 90 kHz or 1 kHz pts would give it, one rounding off.
            #expect(timeline.isSynthetic(at: t.nextDown) && timeline.isSynthetic(at: t))
            #expect(!timeline.isSynthetic(at: t - 0.000001))
        }
    }
}
