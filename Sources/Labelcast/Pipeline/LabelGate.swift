/// The guarantee "no synthetic frame reaches an encoder unlabeled", in the one place every
/// frame of a lane passes: the encode stage asks the gate before it hands a frame to the
/// encoder. Whatever the processors did (threw, withheld, emitted a frame without labeling it,
/// said `labeled` without applying a layer), a frame whose media time is synthetic and that
/// does not carry every labeling layer that is on for the lane is withheld and counted as
/// `dropped(label-missing)`.
///
/// "Synthetic" is asked again here, of the Timeline, as well as taken from the frame: a frame is
/// held to the rule if either says so. For audio, a chunk is synthetic when any of its samples
/// is. Runs on the lane's encode queue.
struct LabelGate: Sendable {
    let lane: Lane
    /// The layers every synthetic frame of this lane must carry (empty: nothing is on, e.g.
    /// `--no-overlay` for a measurement run).
    let required: LabelLayers
    let timeline: SyntheticTimeline
    /// Video with a timing other than continuous (the EU profile's start and interval modes):
    /// whether the label's own rule requires it at a media time (between reminders it does
    /// not). nil: required on every synthetic frame — GB 45438's continuous label is checked
    /// here independently of the labeling step.
    var overlayRequiredAt: (@Sendable (Double) -> Bool)? = nil
    /// The drop reason of a frame the gate withholds.
    static let reason = "label-missing"

    /// Whether the rule applies to this frame.
    func mustCarryLabels(_ lf: LaneFrame) -> Bool {
        if lf.synthetic { return true }
        if lane.kind == .audio {
            let n = lf.frame.sampleCount, rate = lf.frame.sampleRate
            if n > 0, rate > 0 { return timeline.isSynthetic(from: lf.mediaTime, to: lf.mediaTime + Double(n) / Double(rate)) }
        }
        return timeline.isSynthetic(at: lf.mediaTime)
    }

    /// The layers this frame lacks (empty: it may pass).
    func missing(_ lf: LaneFrame) -> LabelLayers {
        guard !required.isEmpty, mustCarryLabels(lf) else { return [] }
        var needed = required
        if let rule = overlayRequiredAt, !rule(lf.mediaTime) { needed.remove(.overlay) }
        return needed.subtracting(lf.layers)
    }

    /// `--copy-unlabeled`: whether input pictures at these media times may go out as the
    /// input's packets — only when nothing is required or none of them is synthetic (judged
    /// as every video frame is, at its own media time).
    func mayCopy(_ mediaTimes: [Double]) -> Bool {
        required.isEmpty || !mediaTimes.contains { timeline.isSynthetic(at: $0) }
    }

    /// Copying unlabeled audio: whether an input packet whose samples span [a, b) may go out
    /// as the input's own (judged as every audio chunk is: synthetic when any sample is).
    func mayCopy(from a: Double, to b: Double) -> Bool {
        required.isEmpty || !timeline.isSynthetic(from: a, to: b)
    }
}
