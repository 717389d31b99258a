import Foundation
import Logging

/// `--synthetic auto` while the input streams: the provisions' "identify, stop, label, then
/// pass on" for markings that arrive after the input was opened. Watches
/// - FLV/RTMP `onMetaData` updates (libavformat raises `AVFMT_EVENT_FLAG_METADATA_UPDATED`),
/// - MPEG-TS timed ID3 (`TXXX` `AIGC`, the form labelcast itself writes on TS, so two
///   labelcasts in a chain recognise each other),
/// - the tags of a new source after a reconnect (a different publisher may declare or not).
///
/// A marking switches labeling on from its media time (or, when that has already been
/// streamed, from the next safe instant: `LiveControl.switchTime`); each decision goes to the
/// audit log with the layer and the evidence. Timed ID3 is repeated inside marked content
/// (labelcast: every 2 s), so when it stops for `id3Hold` seconds the marked part is over and
/// labeling switches off again. Demux queue only.
final class InputMarkingWatch {
    /// Seconds without an AIGC ID3 tag after which a TS marking is taken to have ended
    /// (three of labelcast's repeat intervals).
    static let id3Hold = 3 * ProvenanceWriter.id3Interval

    private let timeline: SyntheticTimeline
    private let clock: any SwitchClock
    private let logger: Logger
    private let event: (String, [String: String]) -> Void
    /// Whether the current source declares itself AI-generated, and through which layer.
    private var declaredBy: String?
    private var lastID3: Double?
    /// End (media time) of the newest watermark detection while a watermark is the marking.
    private var lastMarkEnd: Double?
    /// The demux queue and the lanes' detectors (`watermark`) both report here.
    private let lock = NSLock()
    /// Seconds past the last detected watermark range after which the marked part is taken to
    /// have ended (detections close every few seconds while marked media streams).
    static let watermarkHold = 15.0

    /// `--auto-hold` seconds (0: none). With a hold, `clock` is the hold (`AutoHold`): a marking
    /// whose start is still held is labeled from its start, and the audit log says nothing of it
    /// went out before.
    private let holdSeconds: Double
    /// Where a marking's end takes effect: the run's own clock (after the newest demuxed
    /// packet), also with a hold — frames still held belong to the declared part and are
    /// decided as such when they leave, not switched off early.
    private let offClock: any SwitchClock
    /// Told the AIGC field a metadata marking carries (onMetaData, timed ID3, a new source's
    /// tags) before labeling switches on for it: the output then propagates that field (its
    /// producer kept, labelcast added as propagator) rather than declaring itself the producer.
    private let adopt: ((String) -> Void)?

    init(timeline: SyntheticTimeline, clock: any SwitchClock, offClock: (any SwitchClock)? = nil, declaredAtOpen: Bool,
         holdSeconds: Double = 0, logger: Logger, adoptMarking: ((String) -> Void)? = nil,
         event: @escaping (String, [String: String]) -> Void) {
        self.timeline = timeline
        self.clock = clock
        self.offClock = offClock ?? clock
        self.holdSeconds = holdSeconds
        self.logger = logger
        self.adopt = adoptMarking
        self.event = event
        declaredBy = declaredAtOpen ? "container tag" : nil
    }

    /// The input's container tags changed (an FLV onMetaData update) or a new source opened.
    func tags(_ tags: [String: String], layer: String, at mediaTime: Double?) {
        lock.lock(); defer { lock.unlock() }
        if let m = AIGCMetadata.find(in: tags) {
            declare(layer: layer, value: m.value, at: mediaTime)
        } else if layer == "reconnect", declaredBy != nil {
            withdraw(reason: "the new source declares no AIGC metadata")
        }
    }

    /// One timed-ID3 packet of the input (MPEG-TS).
    func timedID3(_ bytes: [UInt8], at mediaTime: Double?) {
        lock.lock(); defer { lock.unlock() }
        guard let value = TimedID3.textValue(in: bytes, description: AIGCMetadata.tagName) else { return }
        if let t = mediaTime { lastID3 = t }
        declare(layer: "timed ID3", value: value, at: mediaTime)
    }

    /// Called for every demuxed packet's media time: a TS marking that stopped repeating ends.
    func tick(_ mediaTime: Double) {
        lock.lock(); defer { lock.unlock() }
        if let layer = declaredBy, layer.hasSuffix("watermark") || layer.hasSuffix("mark"), let end = lastMarkEnd, mediaTime > end + Self.watermarkHold {
            lastMarkEnd = nil
            withdraw(reason: "no \(layer) for \(Int(Self.watermarkHold)) s")
            return
        }
        guard declaredBy == "timed ID3", let last = lastID3, mediaTime > last + Self.id3Hold else { return }
        lastID3 = nil
        withdraw(reason: "no AIGC timed ID3 for \(Int(Self.id3Hold)) s")
    }

    /// A lane's detector read the operator's watermark (synthetic flag, verified payload) in
    /// the input over [start, end] of media time. Any lane's queue.
    func watermark(layer: String, start: Double, end: Double, evidence: String) {
        lock.lock(); defer { lock.unlock() }
        if declaredBy == nil || declaredBy == layer { lastMarkEnd = max(lastMarkEnd ?? end, end) }
        declare(layer: layer, value: evidence, at: start, readAt: end)
    }

    /// `readAt`: for a watermark, the end of the range read so far (media time): how much of the
    /// marked media the detector needed — what `--auto-hold` must exceed.
    private func declare(layer: String, value: String, at mediaTime: Double?, readAt: Double? = nil) {
        guard declaredBy == nil else { return }
        declaredBy = layer
        if !layer.hasSuffix("mark") { adopt?(value) }
        let (t, outcome) = clock.atSwitchInstant { newest -> (Double, SwitchOutcome) in
            let t = max(mediaTime ?? 0, LiveControl.switchTime(after: newest))
            return (t, timeline.switchLive(on: true, at: t, source: layer.hasSuffix("mark") ? layer : "metadata (\(layer))"))
        }
        let at = String(format: "%.3f", t)
        let late = mediaTime.map { $0 < t - 0.0015 } ?? false
        let what = layer.hasSuffix("mark") ? "is marked AI-generated" : "declares AIGC metadata"
        logger.notice("--synthetic auto: the input \(what) (\(layer)) at \(mediaTime.map { String(format: "%.3f", $0) } ?? "?") s: labeled from \(at) s")
        var fields = ["layer": layer, "media_time": at, "evidence": String(value.prefix(512)), "changed": String(outcome.changed)]
        if let readAt { fields["read_at"] = String(format: "%.3f", readAt) }
        if let m = mediaTime, late {
            fields["declared_at"] = String(format: "%.3f", m)
            fields["note"] = holdSeconds > 0 ? "already streamed before the marking was read (it was read more than the --auto-hold of \(Self.seconds(holdSeconds)) s after its start)"
                : "already streamed before the marking was read"
        } else if let m = mediaTime, holdSeconds > 0 {
            fields["declared_at"] = String(format: "%.3f", m)
            fields["hold"] = Self.seconds(holdSeconds)
            fields["note"] = "labeled from the marking's start: nothing of it streamed before (held \(Self.seconds(holdSeconds)) s)"
        }
        event("marking_found", fields)
    }

    private static func seconds(_ s: Double) -> String { s == s.rounded() ? String(Int(s)) : String(format: "%.1f", s) }

    private func withdraw(reason: String) {
        guard let layer = declaredBy else { return }
        declaredBy = nil
        let t = offClock.atSwitchInstant { newest -> Double in
            let t = LiveControl.switchTime(after: newest)
            timeline.switchLive(on: false, at: t, source: layer.hasSuffix("mark") ? layer : "metadata (\(layer))")
            return t
        }
        logger.notice("--synthetic auto: \(reason): not labeled from \(String(format: "%.3f", t)) s")
        event("marking_ended", ["layer": layer, "media_time": String(format: "%.3f", t), "reason": reason])
    }
}
