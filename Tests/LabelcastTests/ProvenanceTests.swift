import CFFmpeg
import Foundation
import Labelcast
import MediaIO
import Testing

/// The GB 45438 metadata value, its validation, the ID3 wrapper and the audible cue's rhythm.
@Suite struct ProvenanceTests {
    @Test func appendixEValueIsByteExact() {
        let m = AIGCMetadata(contentProducer: "labelcast", produceID: "run-1")
        #expect(m.jsonValue == #"{"AIGC":{"Label":"1","ContentProducer":"labelcast","ProduceID":"run-1","ReservedCode1":"","ContentPropagator":"labelcast","PropagateID":"run-1","ReservedCode2":""}}"#)
        // Slashes stay as given (JSONSerialization would write \/).
        #expect(AIGCMetadata(contentProducer: "a/b", produceID: "x").jsonValue.contains(#""ContentProducer":"a/b""#))
    }

    @Test func propagationKeepsTheProducer() throws {
        let original = #"{"AIGC":{"Label":"2","ContentProducer":"studio-x","ProduceID":"p-42","ReservedCode1":"sig","ContentPropagator":"studio-x","PropagateID":"p-42","ReservedCode2":"old"}}"#
        let parsed = try #require(AIGCMetadata.parse(original))
        #expect(parsed.jsonValue == original)
        let out = parsed.propagated(by: "labelcast", id: "run-9", label: "1")
        #expect(out.jsonValue == #"{"AIGC":{"Label":"1","ContentProducer":"studio-x","ProduceID":"p-42","ReservedCode1":"sig","ContentPropagator":"labelcast","PropagateID":"run-9","ReservedCode2":""}}"#)
        #expect(AIGCMetadata.parse("not json") == nil)
        #expect(AIGCMetadata.find(in: ["title": "x", "aigc_info": "v"])?.key == "aigc_info")
        #expect(AIGCMetadata.find(in: ["title": "x"]) == nil)
    }

    @Test(arguments: [("bad name", "U+0020"), ("生成", "U+751F"), ("a\"b", "U+0022"), ("", "empty")])
    func badFieldValuesAreRejected(value: String, mentions: String) {
        #expect {
            try AIGCMetadata.validate(value, field: "--aigc-producer")
        } throws: { error in
            let text = (error as? ProvenanceError)?.message ?? ""
            return text.hasPrefix("--aigc-producer") && text.contains(mentions) && !text.contains("\n")
        }
    }

    @Test func goodFieldValuesPass() throws {
        try AIGCMetadata.validate("labelcast", field: "f")
        try AIGCMetadata.validate("org.example:tv-1/news@2025_a", field: "f")
        try AIGCMetadata.validate(UUID().uuidString, field: "f")
        #expect(throws: ProvenanceError.self) { try AIGCMetadata.validate(String(repeating: "a", count: 129), field: "f") }
    }

    @Test func timedID3RoundTrip() throws {
        let value = AIGCMetadata(contentProducer: "p", produceID: "i").jsonValue
        let tag = TimedID3.tag(description: "AIGC", value: value)
        #expect(Array(tag[0..<6]) == [0x49, 0x44, 0x33, 4, 0, 0])
        let size = tag[6..<10].reduce(0) { ($0 << 7) | Int($1) }
        #expect(size == tag.count - 10)
        #expect(TimedID3.textValue(in: tag, description: "AIGC") == value)
    }

    @Test func morseRhythmIsShortLongShortShort() {
        let cue = AudibleCue()
        let e = cue.elements
        #expect(e.count == 4)
        let lengths = e.map { (($0.end - $0.start) / cue.unit).rounded() }
        #expect(lengths == [1, 3, 1, 1])
        #expect(abs(cue.duration - 1.1) < 1e-9)
        #expect(throws: ProvenanceError.self) { try AudibleCue(levelDB: 3).validate() }
        #expect(throws: ProvenanceError.self) { try AudibleCue(frequency: 30_000).validate() }
    }

    /// A silent chunk crossing a segment start: the tone begins on the boundary's sample.
    @Test func cueStartsOnTheBoundarySample() throws {
        let rate = 48000
        let timeline = SyntheticTimeline(ranges: [SyntheticRange(start: 1.0)])
        let cue = AudibleCueProcessor(cue: AudibleCue(), sampleRate: rate, timeline: timeline)
        let start = 1.0 - 1000.0 / Double(rate)  // the boundary is sample 1000 of this chunk
        let frame = try Frame.audio(samples: 2048, format: AV_SAMPLE_FMT_FLTP, channels: 1, sampleRate: rate)
        let samples = UnsafeMutableRawPointer(frame.audioChannel(0)!).assumingMemoryBound(to: Float.self)
        for i in 0..<2048 { samples[i] = 0 }
        let lf = LaneFrame(frame: frame, mediaTime: start, synthetic: false, trace: FrameTrace(sequence: 0, lane: .audio))
        guard case .emit(let out) = try cue.process(lf) else { Issue.record("withheld"); return }
        let s = UnsafeMutableRawPointer(out[0].frame.audioChannel(0)!).assumingMemoryBound(to: Float.self)
        #expect((0..<1000).allSatisfy { s[$0] == 0 }, "nothing before the segment")
        let peak = (1000..<2048).map { abs(s[$0]) }.max() ?? 0
        #expect(peak > 0.2 && peak <= 0.26, "tone at -12 dBFS, peak \(peak)")
        #expect(out[0].labeled)
    }
}
