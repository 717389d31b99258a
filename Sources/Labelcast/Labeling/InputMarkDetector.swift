import AudioMark
import CFFmpeg
import Foundation
import MediaIO
import Overlay
import VideoMark

/// `--synthetic auto` over the content itself: reads the operator's watermark in the input as
/// it streams (an upstream labelcast or generation tool marked it, then the metadata was
/// stripped on the way), before labelcast marks anything. First in the lane's chain, so it
/// sees the input's samples and pictures; it changes nothing and passes every frame on.
/// A verified payload with the synthetic flag is a marking: `found` switches labeling on
/// (`InputMarkingWatch.watermark`), from the next safe instant — the detector needs a few
/// seconds of marked media, which have already streamed (the audit log says so).
final class InputAudioMarkDetector: FrameProcessor, @unchecked Sendable {
    private let detector: WatermarkDetector
    private var resampler: MediaIO.Resampler?
    /// Media time of the first sample fed: the detector counts from it.
    private var origin: Double?
    private let found: @Sendable (_ layer: String, _ start: Double, _ end: Double, _ evidence: String) -> Void

    init(key: WatermarkKey, found: @escaping @Sendable (String, Double, Double, String) -> Void) {
        detector = WatermarkDetector(key: key)
        self.found = found
    }

    func process(_ lf: LaneFrame) throws -> ProcessResult {
        let frame = lf.frame
        if origin == nil { origin = lf.mediaTime }
        if resampler == nil || !resampler!.matches(frame) {
            resampler = try withUnsafePointer(to: &frame.pointer.pointee.ch_layout) {
                try MediaIO.Resampler(inputFormat: frame.sampleFormat, inputRate: frame.sampleRate, inputLayout: $0,
                                      outputFormat: AV_SAMPLE_FMT_FLT, outputRate: WatermarkDetector.analysisSampleRate, outputChannels: 1)
            }
        }
        if let mono = try resampler!.convert(frame), let p = mono.plane(0) {
            let samples = UnsafeBufferPointer(start: UnsafeRawPointer(p).assumingMemoryBound(to: Float.self), count: mono.sampleCount)
            // Open ranges too: a live reader acts while the marked part is still streaming.
            for d in detector.process(samples) + detector.openRanges where d.verified && d.payload.synthetic {
                let o = origin ?? 0
                found("audio watermark", d.start + o, d.end + o, String(format: "payload 0x%08X, z %.1f", d.payload.id, d.confidence))
            }
        }
        return .emit([lf])
    }

    func finish() throws -> [LaneFrame] { [] }
}

/// The same for the picture: VideoMark's detector on each input picture's luma.
final class InputVideoMarkDetector: FrameProcessor, @unchecked Sendable {
    private let detector: VideoMarkDetector
    private let found: @Sendable (String, Double, Double, String) -> Void
    private var seen = 0

    init(key: WatermarkKey, found: @escaping @Sendable (String, Double, Double, String) -> Void) {
        detector = VideoMarkDetector(key: key)
        self.found = found
    }

    func process(_ lf: LaneFrame) throws -> ProcessResult {
        let f = lf.frame
        guard let layout = VisibleLabelProcessor.pixelLayout(f), let luma = f.plane(0) else { return .emit([lf]) }
        let plane = LumaPlane(base: UnsafeMutableRawPointer(luma), width: f.width, height: f.height,
                              stride: f.linesize(0), bitDepth: layout.bitDepth, msbAligned: layout.msbAligned)
        // A picture too small to carry the mark is not an error for detection.
        if let closed = try? detector.process(plane, time: lf.mediaTime) {
            for d in closed + [detector.openRange].compactMap({ $0 }) where d.payload.synthetic {
                found("video mark", d.start, d.end, String(format: "payload 0x%08X, z %.1f", d.payload.id, d.confidence))
            }
        }
        return .emit([lf])
    }

    func finish() throws -> [LaneFrame] { [] }
}
