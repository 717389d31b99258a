import AudioMark
import CFFmpeg
import Foundation
import MediaIO
import Testing
@testable import Labelcast

/// Bugs found with the fuzz targets (Fuzz/) and by following their inputs through the code.
/// Segment times are only required to be finite and non-negative, so 1e300 s is a valid time.
@Suite struct FuzzRegressionTests {
    /// fuzz-segment-schedule: describing a range (done for every error message, and in
    /// validation before any check) converted whole seconds to Int64, which traps above 2^63.
    @Test func hugeTimesParseAndPrint() throws {
        let r = try SegmentSchedule.parse(list: " 0-0.5 , 2.25-299999999999999999999999999 ")
        #expect(r == [SyntheticRange(start: 0, end: 0.5), SyntheticRange(start: 2.25, end: 3e26)])
        #expect(r[1].description == "2.25-3e+26")
        let j = try SegmentSchedule.parse(json: Data(#"{"segments":[{"start":1e300}]}"#.utf8))
        #expect(j == [SyntheticRange(start: 1e300)])
        #expect(SyntheticRange(start: 9223372036854775808).description == "9.223372036854776e+18-")
        #expect(SyntheticRange(start: 12, end: 30.5).description == "12-30.5")
        do {
            _ = try SegmentSchedule.parse(list: "200000000000000000000-100")
            Issue.record("reversed range accepted")
        } catch let e as ScheduleError {
            #expect(e.message.contains("(2e+20-100)") && e.message.contains("reversed"), "\(e.message)")
        }
    }

    /// The same trap behind `POST /segments` (one request stopped the run), and the answer
    /// rounding 1e308 to the millisecond overflowed to infinity: not JSON, so the client got "{}".
    @Test func controlAcceptsHugeSegmentTimes() throws {
        let timeline = SyntheticTimeline(ranges: [])
        let control = LiveControl(audit: nil)
        control.attach(timeline: timeline, newestMediaTime: { 12 })
        let decoded = ControlServer.decodeBody(Array(#"{"start": 1e308}"#.utf8), as: ControlServer.SegmentBody.self, example: "")
        let body = try decoded.get()
        let schedule = try control.addSegment(start: body.start, end: body.end, client: "test")
        #expect(JSONSerialization.isValidJSONObject(["schedule": schedule]))
        #expect(schedule.first?["start"] as? Double == 1e308)
        #expect(JSONSerialization.isValidJSONObject(try control.status()))
        #expect(LiveControl.round(12.3456789) == 12.345679)
    }

    /// The audio lane split each chunk at the next boundary, converting its distance in samples
    /// to Int: a segment starting at 1e15 s (4.8e19 samples at 48 kHz) trapped on the first chunk.
    @Test func watermarkProcessorToleratesFarBoundaries() throws {
        let timeline = SyntheticTimeline(ranges: [SyntheticRange(start: 1e15)])
        let processor = try WatermarkProcessor(settings: WatermarkSettings(key: .demo, payloadID: 1),
                                               format: AudioStreamFormat(sampleRate: 48000, channels: 1), timeline: timeline)
        let frame = try Frame.audio(samples: 4800, format: AV_SAMPLE_FMT_FLTP, channels: 1, sampleRate: 48000)
        let samples = UnsafeMutableRawPointer(frame.audioChannel(0)!).assumingMemoryBound(to: Float.self)
        for i in 0..<4800 { samples[i] = 0.1 * sinf(Float(i) * 0.05) }
        let lf = LaneFrame(frame: frame, mediaTime: 0, synthetic: false, trace: FrameTrace(sequence: 0, lane: .audio))
        guard case .emit(let out) = try processor.process(lf) else { Issue.record("withheld"); return }
        #expect(out.allSatisfy { !$0.labeled })
    }
}
