/// When the label shows, measured from the start of each synthetic segment: a value, so the
/// video lane and the gate before the encoder answer "must this frame carry the label?" alike.
///
/// Every mode keeps GB 45438's floor: the label is on the segment's opening frames for at least
/// ``minimumDisplay`` seconds, even when the segment is shorter.
public struct LabelTiming: Sendable, Hashable, CustomStringConvertible {
    /// GB 45438: a label shows on a synthetic segment's opening frames for at least 2 s.
    public static let minimumDisplay = 2.0
    /// EU code of practice defaults for long content: a reminder every 5 minutes, 5 s each.
    public static let defaultEvery = 300.0
    public static let defaultShowFor = 5.0

    public var mode: LabelMode
    /// Seconds between reminders (``LabelMode/interval`` only), counted from the segment start.
    public var every: Double
    /// Seconds each showing lasts (``LabelMode/start`` and ``LabelMode/interval``); at least 2.
    public var showFor: Double

    public init(mode: LabelMode = .continuous, every: Double = LabelTiming.defaultEvery, showFor: Double = LabelTiming.defaultShowFor) {
        self.mode = mode
        self.every = every
        self.showFor = showFor
    }

    public static let continuous = LabelTiming()

    /// Whether the label is drawn `seconds` into a segment. `inSegment`: the frame is still
    /// synthetic (after the segment's end only the 2 s minimum keeps it).
    public func shows(secondsIntoSegment seconds: Double, inSegment: Bool) -> Bool {
        guard seconds >= 0 else { return false }
        if seconds < Self.minimumDisplay { return true }
        guard inSegment else { return false }
        return required(secondsIntoSegment: seconds)
    }

    /// Whether a synthetic frame `seconds` into its segment must carry the label.
    public func required(secondsIntoSegment seconds: Double) -> Bool {
        guard seconds >= 0 else { return false }
        let hold = max(Self.minimumDisplay, showFor)
        switch mode {
        case .continuous: return true
        case .start: return seconds < hold
        case .interval:
            guard every > 0 else { return true }
            // A reminder starts at every multiple of `every`; a small epsilon keeps 300.0 in the 300 s window.
            let phase = seconds - (seconds / every + 1e-9).rounded(.down) * every
            return phase < hold
        }
    }

    public var description: String {
        switch mode {
        case .continuous: return "continuous"
        case .start: return "start (\(showFor.formattedSeconds) s)"
        case .interval: return "interval (\(showFor.formattedSeconds) s every \(every.formattedSeconds) s)"
        }
    }
}

extension Double {
    /// "5", "2.5": seconds as an operator typed them.
    var formattedSeconds: String {
        self == rounded() && abs(self) < 1e12 ? String(Int(self)) : String(self)
    }
}
