/// When the visible label shows within a synthetic segment (`--label-mode`).
public enum LabelMode: String, Sendable, Hashable, CaseIterable {
    /// For the whole segment (GB 45438's default; what `cn` and `cn+eu` require).
    case continuous
    /// From the segment's first frame for ``LabelTiming/showFor`` seconds, then gone.
    case start
    /// At the segment's start and again every ``LabelTiming/every`` seconds, each time for
    /// ``LabelTiming/showFor`` seconds (the EU code of practice's reminders in long content).
    case interval
}
