import CFFmpeg
import Foundation
import MediaIO
import Overlay
import Testing
@testable import Labelcast

/// The visible label's timing seen from the gate before the encoder: `labeled` is set on
/// exactly the frames drawn on, and `mustLabel(at:)` says which synthetic frames need it.
@Suite struct VisibleLabelTimingTests {
    /// 10 fps frames through a processor: which were labeled, and which the gate would require.
    func run(_ timing: LabelTiming, synthetic: (Double) -> Bool, frames: Int) throws -> (labeled: [Int], required: [Int], pixels: [Int]) {
        let format = VideoStreamFormat(width: 160, height: 120, pixelFormatName: "yuv420p", frameRate: 10)
        let p = try VisibleLabelProcessor(style: LabelStyle(timing: timing), format: format)
        var labeled: [Int] = [], required: [Int] = [], pixels: [Int] = []
        var processed: [(Int, Double, Bool)] = []
        for n in 0..<frames {
            let t = Double(n) / 10
            let frame = try Frame.video(width: 160, height: 120, pixelFormat: AV_PIX_FMT_YUV420P)
            try frame.makeWritable()
            memset(frame.plane(0)!, 16, frame.linesize(0) * 120)  // black: the label's white text shows
            let lf = LaneFrame(frame: frame, mediaTime: t, synthetic: synthetic(t), trace: FrameTrace(sequence: Int64(n), lane: .video))
            guard case .emit(let out) = try p.process(lf), let f = out.first else { Issue.record("withheld"); continue }
            if f.labeled { labeled.append(n) }
            if (0..<(120 * f.frame.linesize(0))).contains(where: { f.frame.plane(0)![$0] > 100 }) { pixels.append(n) }
            processed.append((n, t, lf.synthetic))
        }
        // The gate asks after the lane has moved on (later segments already seen).
        for (n, t, syn) in processed where syn && p.mustLabel(at: t) { required.append(n) }
        return (labeled, required, pixels)
    }

    @Test func intervalLabelsOnlyItsWindowsAndTheGateAgrees() throws {
        // Segments [1, 9) and [10, ∞): reminders every 3 s for 2 s.
        let r = try run(LabelTiming(mode: .interval, every: 3, showFor: 2), synthetic: { ($0 >= 1 && $0 < 9) || $0 >= 10 }, frames: 140)
        let expected = Array(10...29) + Array(40...59) + Array(70...89) + Array(100...119) + Array(130...139)
        #expect(r.labeled == expected)
        #expect(r.required == expected)
        #expect(r.pixels == expected, "labeled is set on exactly the frames drawn on")
    }

    @Test func continuousRequiresEverySyntheticFrameAndHoldsTwoSeconds() throws {
        // A 0.5 s segment: drawn for 2 s, but only its own frames are required.
        let r = try run(.continuous, synthetic: { $0 >= 1 && $0 < 1.5 }, frames: 40)
        #expect(r.labeled == Array(10...29))
        #expect(r.required == Array(10...14))
    }
}
