import AudioMark
import MarkCore

/// Finds the keyed video mark blind (no original), in frames of any size and rate, fed in
/// presentation order with their times.
///
/// Per frame it keeps only the 576 cell means (luma averaged over each cell of the 32 x 18
/// grid, every other row: ~0.5 ms at 1080p). Every 0.5 s of media time it analyses the last
/// 2 s (and, when that does not decode, the last 5 s):
/// 1. each cell's means are detrended (a straight line in time removed: static content and
///    slow drifts, fades, brightness changes cancel) and scaled to unit variance;
/// 2. the 96 sync cells, each times its chip, sum to one value per frame; that series is
///    correlated with the keyed temporal sign at 256 alignments (a quarter slot apart over the
///    12.8 s period); the alignments' scores are normalised by their median absolute value;
/// 3. at the best 3 alignments, every cell is correlated with the sign, the cells of each coded
///    bit are combined (times their chips) into a soft bit, and the Viterbi decoder reads the
///    payload, which is reported only when its 32-bit HMAC tag verifies.
/// Verified windows with the same payload merge into ranges; a range's edges are then placed
/// where the per-frame correlation with the decoded mark changes level (a CUSUM change point).
///
/// False positives: at most 6 decodes per second of video (2 windows x 3 alignments every
/// 0.5 s), each passing the tag by chance with p = 2^-32: one false payload per ~22 years of
/// continuous video, from unmarked video or another key alike.
///
/// Threading: not thread-safe; one serial queue.
public final class VideoMarkDetector {
    static let hopSeconds = 0.5
    static let shortWindow = 2.0
    static let longWindow = 5.0
    static let historySeconds = 8.0
    static let alignmentsPerSlot = 4
    static let decodeCandidates = 8
    /// Half the width of the moving average the high-pass subtracts (1.5 slots either side).
    static let highPassHalfWidth = 0.3
    static let nullProjections = 4

    private let layout: KeyedLayout
    private let codec: VideoPayloadCodec
    /// Signs for the null projections of the sync cells (fixed, not secret: they only measure noise).
    private let nullChips: [[Float]]
    private var times: [Double] = []
    private var means: [[Float]] = []
    private var nextAnalysis: Double?
    private var open: Open?
    private var done: [VideoMarkDetection] = []
    private var columnCell: [Int] = []
    private var cellRowBounds: [Int] = []
    private var geometryKey = (0, 0)

    /// Highest sync z-score of any window so far (evidence of a mark even without a payload).
    public private(set) var strongestSync: Double = 0
    /// The sync z-score at or above which a mark of this key counts as present.
    public static let presenceThreshold = 6.0

    private struct Open {
        var start: Double, end: Double, payload: WatermarkPayload, confidence: Double, phase: Double
    }

    public init(key: WatermarkKey) {
        let vkey = VideoMarkKey(key)
        layout = KeyedLayout(key: vkey)
        codec = VideoPayloadCodec(key: vkey)
        var g = KeyedGenerator(seed: Array(repeating: 0x5A, count: 32))
        nullChips = (0..<Self.nullProjections).map { _ in (0..<VideoMarkLayout.syncCellCount).map { _ in g.sign() } }
    }

    /// Feeds one frame's luma at time `time` (seconds). Returns ranges that closed during this
    /// call (final, edges placed).
    /// - Throws: `VideoMarkError` when the plane's depth, size or stride is unusable.
    public func process(_ plane: LumaPlane, time: Double) throws -> [VideoMarkDetection] {
        if let p = plane.problem { throw p }
        if let last = times.last, time <= last { return [] }
        means.append(cellMeans(plane))
        times.append(time)
        while let first = times.first, time - first > Self.historySeconds {
            times.removeFirst(); means.removeFirst()
        }
        if nextAnalysis == nil { nextAnalysis = time + Self.shortWindow }
        var closed: [VideoMarkDetection] = []
        if time >= nextAnalysis! {
            nextAnalysis! += Self.hopSeconds
            if nextAnalysis! <= time { nextAnalysis = time + Self.hopSeconds }
            closed = analyseRecent(final: false)
        }
        return closed
    }

    /// End of input: analyses what is left and returns every range not yet returned, in order.
    public func finish() -> [VideoMarkDetection] {
        var out = analyseRecent(final: true)
        if let o = open { out.append(close(o)); open = nil }
        done += out
        return out
    }

    /// The range still growing (the mark was read in the latest analysis), edges provisional:
    /// for a live reader that must act before the range closes.
    public var openRange: VideoMarkDetection? {
        open.map { VideoMarkDetection(start: $0.start, end: $0.end, payload: $0.payload, confidence: $0.confidence) }
    }

    /// All ranges found so far (returned or not), for a report.
    public var detections: [VideoMarkDetection] { done }

    // MARK: analysis

    private func analyseRecent(final: Bool) -> [VideoMarkDetection] {
        guard let now = times.last else { return [] }
        var result: (range: ClosedRange<Int>, payload: WatermarkPayload, z: Double, phase: Double)?
        for length in [Self.shortWindow, Self.longWindow] {
            guard let lo = times.firstIndex(where: { $0 > now - length }) else { continue }
            if length == Self.longWindow && now - times[lo] < Self.shortWindow + 0.5 { break }
            if times.count - lo < 4 { break }
            if let r = analyse(lo...(times.count - 1)) { result = (lo...(times.count - 1), r.payload, r.z, r.phase); break }
        }
        var closed: [VideoMarkDetection] = []
        if let r = result {
            let start = times[r.range.lowerBound], end = now + frameDuration
            if var o = open, o.payload == r.payload, start <= o.end + Self.hopSeconds {
                o.end = end; o.confidence = max(o.confidence, r.z); o.phase = r.phase
                open = o
            } else {
                if let o = open { closed.append(close(o)) }
                let refinedStart = placeStart(r.range, payload: r.payload, phase: r.phase) ?? start
                open = Open(start: refinedStart, end: end, payload: r.payload, confidence: r.z, phase: r.phase)
            }
        } else if let o = open, now - o.end > Self.longWindow {
            closed.append(close(o)); open = nil
        }
        if !final { done += closed }
        return closed
    }

    private var frameDuration: Double {
        guard times.count >= 2 else { return 1.0 / 30 }
        return max(0.001, (times[times.count - 1] - times[0]) / Double(times.count - 1))
    }

    private func close(_ o: Open) -> VideoMarkDetection {
        // The last window that decoded may end well before the mark does (a window half past the
        // end no longer decodes): the change point is looked for up to a window beyond it.
        var end = o.end
        let limit = o.end + Self.shortWindow
        if let lo = times.firstIndex(where: { $0 >= o.end - Self.shortWindow - 1 }), lo < times.count - 2 {
            let hi = times.lastIndex(where: { $0 < limit }) ?? times.count - 1
            if hi > lo + 2, let e = placeEnd(lo...hi, payload: o.payload, phase: o.phase, notAfter: limit) { end = e }
        }
        return VideoMarkDetection(start: o.start, end: max(end, o.start), payload: o.payload, confidence: (o.confidence * 10).rounded() / 10)
    }

    /// For each frame of `range`, the frames within +-`highPassHalfWidth` seconds of it
    /// (as offsets into the range): the box the high-pass subtracts.
    private func boxes(_ range: ClosedRange<Int>) -> [(Int, Int)] {
        var out: [(Int, Int)] = []
        out.reserveCapacity(range.count)
        var lo = range.lowerBound, hi = range.lowerBound
        for i in range {
            while times[lo] < times[i] - Self.highPassHalfWidth { lo += 1 }
            while hi < range.upperBound && times[hi + 1] <= times[i] + Self.highPassHalfWidth { hi += 1 }
            out.append((lo - range.lowerBound, hi - range.lowerBound))
        }
        return out
    }

    /// `x` minus its moving average over each frame's box: static content and drifts slower
    /// than ~1 Hz cancel, while the mark (a sign that changes every 0.2 s) mostly stays.
    private static func highPass(_ x: [Float], _ boxes: [(Int, Int)]) -> [Float] {
        var prefix = [Float](repeating: 0, count: x.count + 1)
        for i in 0..<x.count { prefix[i + 1] = prefix[i] + x[i] }
        return (0..<x.count).map { i in
            let (lo, hi) = boxes[i]
            return x[i] - (prefix[hi + 1] - prefix[lo]) / Float(hi - lo + 1)
        }
    }

    /// High-passed, unit-variance cell means of frames `range` (frame-major).
    private func normalised(_ range: ClosedRange<Int>, _ box: [(Int, Int)]) -> [[Float]] {
        let n = range.count
        var out = [[Float]](repeating: [Float](repeating: 0, count: VideoMarkLayout.cellCount), count: n)
        var column = [Float](repeating: 0, count: n)
        for c in 0..<VideoMarkLayout.cellCount {
            for (k, i) in range.enumerated() { column[k] = means[i][c] }
            let r = Self.highPass(column, box)
            var v: Float = 0
            for x in r { v += x * x }
            let inv = 1 / max(0.02, (v / Float(n)).squareRoot())
            for k in 0..<n { out[k][c] = r[k] * inv }
        }
        return out
    }

    /// The sign waveform at alignment `phase` for frames `range`, high-passed like the data,
    /// with its energy.
    private func signs(_ range: ClosedRange<Int>, _ box: [(Int, Int)], phase: Double) -> ([Float], Float) {
        let s = Self.highPass(range.map { layout.sign(at: times[$0] + phase) }, box)
        var e: Float = 0
        for x in s { e += x * x }
        return (s, max(e, 1e-6))
    }

    private func analyse(_ range: ClosedRange<Int>) -> (payload: WatermarkPayload, z: Double, phase: Double)? {
        let box = boxes(range)
        let z = normalised(range, box)
        let n = z.count
        // The sync cells' projection with the key's chips, and with `nullChips` (other signs on
        // the same cells): the same content noise, nearly none of the mark. The null scores give
        // the spread of a score where there is no mark, temporal correlation of content included.
        var q = [Float](repeating: 0, count: n)
        var nulls = [[Float]](repeating: [Float](repeating: 0, count: n), count: nullChips.count)
        for k in 0..<n {
            var acc: Float = 0
            for c in layout.syncCells { acc += layout.chip[c] * z[k][c] }
            q[k] = acc
            for (m, chips) in nullChips.enumerated() {
                var a: Float = 0
                for (i, c) in layout.syncCells.enumerated() { a += chips[i] * z[k][c] }
                nulls[m][k] = a
            }
        }
        let count = VideoMarkLayout.slotsPerPeriod * Self.alignmentsPerSlot
        let step = VideoMarkLayout.slotSeconds / Double(Self.alignmentsPerSlot)
        var scores = [Float](repeating: 0, count: count)
        var nullEnergy: Float = 0
        for j in 0..<count {
            let (s, e) = signs(range, box, phase: Double(j) * step)
            let norm = 1 / e.squareRoot()
            var acc: Float = 0
            for k in 0..<n { acc += s[k] * q[k] }
            scores[j] = acc * norm
            for null in nulls {
                var a: Float = 0
                for k in 0..<n { a += s[k] * null[k] }
                nullEnergy += a * a * norm * norm
            }
        }
        let spread = max(1e-6, (nullEnergy / Float(count * nulls.count)).squareRoot())
        var order = Array(0..<count).sorted { scores[$0] > scores[$1] }
        strongestSync = max(strongestSync, Double(scores[order[0]] / spread))
        var tried: [Int] = []
        while tried.count < Self.decodeCandidates, !order.isEmpty {
            let j = order.removeFirst()
            if tried.contains(where: { abs($0 - j) <= 2 || abs($0 - j) >= count - 2 }) { continue }
            tried.append(j)
            let phase = Double(j) * step
            let y = cellCorrelations(z, range, box, phase: phase)
            var soft = [Float](repeating: 0, count: VideoPayloadCodec.codedBits)
            for b in 0..<soft.count {
                for c in layout.cellsOfBit[b] { soft[b] += layout.chip[c] * y[c] }
            }
            if let p = codec.decode(soft) {
                let g = layout.cellValues(coded: codec.encode(p))
                var num: Float = 0, den: Float = 0
                for c in 0..<g.count { num += g[c] * y[c]; den += y[c] * y[c] }
                return (p, Double(num / max(1e-6, den.squareRoot())), phase)
            }
        }
        return nil
    }

    /// Each cell's correlation with the sign at `phase`, over the detrended sign energy.
    private func cellCorrelations(_ z: [[Float]], _ range: ClosedRange<Int>, _ box: [(Int, Int)], phase: Double) -> [Float] {
        let (s, e) = signs(range, box, phase: phase)
        var y = [Float](repeating: 0, count: VideoMarkLayout.cellCount)
        for k in 0..<z.count {
            let sk = s[k]
            for c in 0..<y.count { y[c] += sk * z[k][c] }
        }
        let inv = 1 / e.squareRoot()
        return y.map { $0 * inv }
    }

    /// Per-frame correlation with the known mark at `phase` (positive where marked, ~0
    /// elsewhere), and the energy of the high-passed sign at that frame: what the correlation's
    /// expected value is proportional to (near 0 inside a long run of one sign).
    private func frameScores(_ range: ClosedRange<Int>, payload: WatermarkPayload, phase: Double) -> ([Float], [Float]) {
        let box = boxes(range)
        let z = normalised(range, box)
        let (s, _) = signs(range, box, phase: phase)
        let g = layout.cellValues(coded: codec.encode(payload))
        let c = (0..<z.count).map { k -> Float in
            var acc: Float = 0
            for c in 0..<g.count { acc += g[c] * z[k][c] }
            return acc * s[k]
        }
        return (c, s.map { $0 * $0 })
    }

    /// The CUSUM change point between "mark present" (score ~ m * energy) and absent (~0):
    /// the frame index maximising the sum of (score - m/2 * energy) over the marked side.
    /// `reference` are the indices known to be marked (to estimate m); `fromEnd` for a start edge.
    private static func changePoint(_ c: [Float], _ e: [Float], reference: Range<Int>, fromEnd: Bool) -> Int? {
        let num = reference.reduce(Float(0)) { $0 + c[$1] }, den = reference.reduce(Float(0)) { $0 + e[$1] }
        guard den > 0, num > 0 else { return nil }
        let m = num / den
        var best = fromEnd ? c.count - 1 : 0, bestSum = -Float.greatestFiniteMagnitude, acc: Float = 0
        for k in fromEnd ? Array(stride(from: c.count - 1, through: 0, by: -1)) : Array(0..<c.count) {
            acc += c[k] - m / 2 * e[k]
            if acc > bestSum { bestSum = acc; best = k }
        }
        return best
    }

    /// Where the mark starts in `range` (which ends marked).
    private func placeStart(_ range: ClosedRange<Int>, payload: WatermarkPayload, phase: Double) -> Double? {
        let lo = max(0, range.lowerBound - Int(1.5 / frameDuration))
        let r = lo...range.upperBound
        let (c, e) = frameScores(r, payload: payload, phase: phase)
        guard c.count >= 6, let k = Self.changePoint(c, e, reference: (c.count / 2)..<c.count, fromEnd: true) else { return nil }
        return times[r.lowerBound + k]
    }

    /// Where the mark ends in `range` (which starts marked).
    private func placeEnd(_ range: ClosedRange<Int>, payload: WatermarkPayload, phase: Double, notAfter: Double) -> Double? {
        let (c, e) = frameScores(range, payload: payload, phase: phase)
        guard c.count >= 6, let k = Self.changePoint(c, e, reference: 0..<(c.count / 3), fromEnd: false) else { return nil }
        return min(notAfter, times[range.lowerBound + k] + frameDuration)
    }

    /// Luma mean of each cell (8-bit levels), from every other row.
    private func cellMeans(_ plane: LumaPlane) -> [Float] {
        let w = plane.width, h = plane.height
        if geometryKey != (w, h) {
            geometryKey = (w, h)
            columnCell = (0...VideoMarkLayout.cellsX).map { $0 * w / VideoMarkLayout.cellsX }
            cellRowBounds = (0...VideoMarkLayout.cellsY).map { $0 * h / VideoMarkLayout.cellsY }
        }
        let cx = VideoMarkLayout.cellsX
        var out = [Float](repeating: 0, count: VideoMarkLayout.cellCount)
        let shift = plane.msbAligned ? 16 - plane.bitDepth : 0
        for cy in 0..<VideoMarkLayout.cellsY {
            var rows = 0
            var y = cellRowBounds[cy]
            var acc = [Int](repeating: 0, count: cx)
            while y < cellRowBounds[cy + 1] {
                let row = plane.base + y * plane.stride
                for i in 0..<cx {
                    var s = 0
                    if plane.bitDepth == 8 {
                        let p = UnsafeRawPointer(row).assumingMemoryBound(to: UInt8.self)
                        for x in columnCell[i]..<columnCell[i + 1] { s += Int(p[x]) }
                    } else {
                        let p = UnsafeRawPointer(row).assumingMemoryBound(to: UInt16.self)
                        for x in columnCell[i]..<columnCell[i + 1] { s += Int(UInt16(littleEndian: p[x]) >> UInt16(shift)) }
                    }
                    acc[i] += s
                }
                rows += 1
                y += 2
            }
            let scale = 1 / Float(1 << (plane.bitDepth - 8))
            for i in 0..<cx {
                let n = rows * (columnCell[i + 1] - columnCell[i])
                out[cy * cx + i] = n > 0 ? Float(acc[i]) / Float(n) * scale : 0
            }
        }
        return out
    }
}
