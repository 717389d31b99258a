import CFFmpeg

/// A rational number as FFmpeg uses it for time bases and frame rates.
public struct Rational: Sendable, Hashable, CustomStringConvertible {
    public var num: Int32
    public var den: Int32
    public init(_ num: Int32, _ den: Int32) { self.num = num; self.den = den }
    public init(_ r: AVRational) { self.num = r.num; self.den = r.den }
    public var av: AVRational { AVRational(num: num, den: den) }
    public var double: Double { den == 0 ? 0 : Double(num) / Double(den) }
    public var isValid: Bool { num > 0 && den > 0 }
    public var inverted: Rational { Rational(den, num) }
    public var description: String { "\(num)/\(den)" }
}

/// Timestamps in a time base, and the conversions between them.
public enum MediaTime {
    /// FFmpeg's "no timestamp" value.
    public static let noPTS: Int64 = lc_nopts_value()
    /// FFmpeg's internal time base (microseconds).
    public static let internalTimeBase = Rational(1, Int32(AV_TIME_BASE))

    /// Rescales `ts` from one time base to another with FFmpeg's rounding (near, pass min/max).
    public static func rescale(_ ts: Int64, from: Rational, to: Rational) -> Int64 {
        if ts == noPTS { return noPTS }
        let rounding = AVRounding(rawValue: AV_ROUND_NEAR_INF.rawValue | AV_ROUND_PASS_MINMAX.rawValue)
        return av_rescale_q_rnd(ts, from.av, to.av, rounding)
    }

    /// Seconds for a timestamp in a time base (nil for "no timestamp").
    public static func seconds(_ ts: Int64, _ timeBase: Rational) -> Double? {
        ts == noPTS ? nil : Double(ts) * timeBase.double
    }

    /// The timestamp nearest to `seconds` in a time base.
    public static func timestamp(seconds: Double, _ timeBase: Rational) -> Int64 {
        Int64((seconds / timeBase.double).rounded())
    }
}
