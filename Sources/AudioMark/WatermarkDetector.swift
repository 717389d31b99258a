#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One stretch of audio found to carry the mark.
public struct WatermarkDetection: Sendable, Equatable, CustomStringConvertible {
    /// Seconds from the first sample fed to the detector.
    public var start: Double
    public var end: Double
    public var payload: WatermarkPayload
    /// Correlation of the audio with the decoded mark, in standard deviations (z-score) of the
    /// strongest window; unmarked audio scores ~0, a clean 3 s window ~15-30.
    public var confidence: Double
    /// True when the payload's keyed check verified in at least one window of the range. False for
    /// a range found only by *confirmation*: correlation with the coded bits of the payload this
    /// detector read earlier in the stream (see `WatermarkDetector.confirmationThreshold`). Such
    /// a range surely carries a mark made with the key; that it is this payload and not another
    /// id embedded on the same stream is very likely but not check-proven.
    public var verified: Bool

    public init(start: Double, end: Double, payload: WatermarkPayload, confidence: Double, verified: Bool = true) {
        self.start = start; self.end = end; self.payload = payload; self.confidence = confidence; self.verified = verified
    }

    public var description: String {
        String(format: "%.2f-%.2f s %@ (z=%.1f)%@", start, end, payload.description, confidence, verified ? "" : " confirmed")
    }
}

/// Finds the keyed watermark in mono audio at `analysisSampleRate`, blind (no original needed).
///
/// It keeps the log-energies of the mark's 52 bands every 2.5 ms, in two *views* that differ
/// only in the floor under each band (see `analyseFrame`), plus ten views on band grids scaled
/// 1% apart in frequency (see `AnalysisPlane`). Every 0.5 s it looks at the last 3 s (or all
/// there is, from 1 s on): it correlates the keyed sync sequence at all 1024 alignments (2.5 ms
/// positions in the 2.56 s period) in both unscaled views; every 2 s (and at the end of input)
/// also under 62 speed, tempo and pitch hypotheses up to ±5%. It runs the soft-decision
/// Viterbi decoder at the best 4 alignments, and reports a payload only when its 32-bit check
/// (truncated HMAC-SHA256) verifies. Where a 2.56 s period is not complete (windows under 2.56 s), the
/// coded bits not seen are erasures (soft value 0): the rate-1/3 code still decodes a clean
/// 2 s window, and ~70% of clean 1.2 s clips.
///
/// Once a payload has been read, a window that does not decode is *confirmed* instead when the
/// mark of that payload (its coded bits), at the grid alignment it was read at, correlates with it
/// strongly enough (`confirmationThreshold`): a stream whose mark comes back after a pause is
/// recognised within 2 s, and noisy stretches of a marked stream keep their range.
///
/// False positives: at most 8 decode attempts per second of audio (measured 8.0/s on unmarked
/// material, scale search on), each passing the check by chance with p = 2^-32, so a false payload from unmarked
/// audio or a wrong key is expected about once per 17 years of continuous audio; plus, after a
/// payload has been read, at most 6 confirmation tests per second, each passing by chance with
/// p = 4e-11 (z ≥ 6.5): once per 130 years.
///
/// Threading: not thread-safe; call from one serial queue. Cost: 400 FFTs of 512 points, two
/// unscaled sync searches, a share of the scale search and up to 8 Viterbi decodes per second
/// of audio: ~58x real time on one core with the scale search, ~178x without (`audiomark-bench
/// speed`, on the shared 2-core machine). Memory: ~5.8 MB of history (twelve views).
public final class WatermarkDetector {
    /// The rate the detector expects: mono, 16 kHz (the marked band ends at 7 kHz).
    public static let analysisSampleRate = 16000
    /// Sync z-score above which a window is said to carry *a* mark even if its payload did not
    /// decode. Chosen so that unmarked audio practically never reaches it (see the sweep).
    public static let presenceThreshold = 6.0

    static let hop = 40                 // 2.5 ms
    static let windowLength = 320       // 20 ms, same shape as the embedder's window
    static let fftSize = 512
    static let subFramesPerFrame = 4    // 10 ms / 2.5 ms
    static let subFramesPerPair = 8
    static let windowFrames = 1200      // 3 s of sub-frames
    static let minimumFrames = 388      // pairs in 1 s of input: the shortest worth a decode (see `finish`)
    static let evaluationHop = 200      // 0.5 s
    static let scaledSearchInterval = 4 // evaluations: the scale search runs every 2 s
    static let candidatesTried = 4
    static let historyCapacity = 2048
    static let clip: Float = 3
    /// The views of the audio (floors and frequency-scaled band grids) and the time scales
    /// tried on each: see `AnalysisPlane`.
    static let planes = AnalysisPlane.all
    static let viewCount = planes.count
    static let viewStride = historyCapacity * MarkGrid.bandPairCount
    static let binCount = fftSize / 2 + 1
    static let periodSubFrames = MarkGrid.pairsPerPeriod * subFramesPerPair   // 1024
    static let confirmationFrames = 800   // 2 s: a confirmation is about the newest audio only

    private let layout: MarkLayout
    private let codec: PayloadCodec
    private let fft = RealFFT(size: fftSize)
    private let window = MarkGrid.sqrtHann(windowLength)
    /// Sync slot s: pair-slot `syncPairSlot[s]`; its band-pairs syncMemberIndex[syncStart[s] ..<
    /// syncStart[s + 1]] with their signs times the slot's sync value (one gather-and-add loop
    /// per slot in the search, which is most of the detector's time). A copy of the sync slots'
    /// part of memberIndex/memberSign: measured 210x real time against ~185x when the search
    /// reads those through `slotStart` and applies the sync value per slot.
    private let syncPairSlot: UnsafeMutablePointer<Int32>
    private let syncStart: UnsafeMutablePointer<Int32>
    private let syncMemberIndex: UnsafeMutablePointer<Int32>
    private let syncMemberSign: UnsafeMutablePointer<Float>
    /// Sync search accumulators, per alignment (1024 sub-frame positions in the period).
    private let syncScore: UnsafeMutablePointer<Float>
    private let syncEnergy: UnsafeMutablePointer<Float>
    /// Per row of the window and sync slot: the row's correlation with that slot's pattern,
    /// shared by all time scales of a plane.
    private let syncRows: UnsafeMutablePointer<Float>
    /// Per plane and FFT bin: the band of that plane's (frequency-scaled) grid, or -1.
    private let binBand: UnsafeMutablePointer<Int32>
    private let power: UnsafeMutablePointer<Float>
    private let bandEnergy: UnsafeMutablePointer<Float>
    private var evaluationCount = 0

    // Fixed-size storage as `let` raw pointers: touched per sample and per frame, and pointers
    // avoid the dynamic exclusivity checks Swift inserts for a class's `var` arrays.
    private let samples: UnsafeMutablePointer<Float>     // ring of 1024 input samples
    private let logEnergy: UnsafeMutablePointer<Float>   // per plane: ring of 8 frames x 52 bands
    private let q: UnsafeMutablePointer<Float>           // per view: ring of pair-start frames x 26 band-pair diffs
    private let qn: UnsafeMutablePointer<Float>          // q weighted over the current window
    private let frameBuf: UnsafeMutablePointer<Float>
    private let re: UnsafeMutablePointer<Float>
    private let im: UnsafeMutablePointer<Float>
    /// Band-pair indices and signs of every group-slot (s = groupsPerPair*k+g), flattened.
    private let memberIndex: UnsafeMutablePointer<Int32>
    private let memberSign: UnsafeMutablePointer<Float>
    /// For group-slot s: its members are memberIndex[slotStart[s] ..< slotStart[s + 1]].
    private let slotStart: UnsafeMutablePointer<Int32>
    private var sampleCount = 0
    private var frameCount = 0                     // sub-frames analysed
    private var pairCount = 0                      // pair-start frames with q available
    private var lastEvaluation = 0
    private var open: [WatermarkDetection] = []
    private var finished: [WatermarkDetection] = []

    /// Highest sync z-score seen in any window so far (presence evidence without a payload).
    public private(set) var strongestSync: Double = 0
    /// Highest correlation (z-score) between the audio and the most likely mark at the best sync
    /// alignments, whether or not its check verified. Diagnostic only: the Viterbi decoder picks
    /// the best-matching of 2^65 codewords, so unmarked 2 s windows already score ~8.6.
    public private(set) var strongestMatch: Double = 0
    /// Decode attempts made so far (each is one chance of a false check match, 2^-32).
    public private(set) var decodeAttempts = 0
    /// Correlation (z-score) with the coded bits of the payload read last, at the alignment it
    /// was read at, above which a window whose own payload did not decode is said to carry that
    /// payload (a *confirmation*). On unmarked audio the score is ~N(0, 1): p = 4e-11 per test;
    /// the sweep measures it on 32 minutes of unmarked audio after a read payload.
    public static let confirmationThreshold = 6.5
    /// A confirmation is refused when the most likely codeword at that alignment (Viterbi, not
    /// check-verified) matches the window better than the read payload by more than this (z): the
    /// window then carries another payload on the same grid — another id shares the sync and,
    /// for an id one bit away, 38% of the coded bits, so a strong mark of it could pass the
    /// threshold. A backstop: in the sweep's 1800 windows after a pause (noise, AAC 64k, clean)
    /// it refused none, and the switch to a neighbouring id never got that far.
    static let confirmationExcess = 3.0
    /// Confirmation tests made so far (3 per window that did not decode once a payload has been
    /// read), each one chance of a false confirmation with p ≈ 4e-11.
    public private(set) var confirmationTests = 0
    /// Windows reported through a confirmation rather than their own check.
    public private(set) var confirmations = 0
    /// Confirmations refused although above the threshold, because another codeword fitted
    /// the window better (see `confirmationExcess`).
    public private(set) var confirmationsRefused = 0
    /// Highest confirmation z-score seen so far (diagnostic; unmarked audio scores ~0).
    public private(set) var strongestConfirmation: Double = 0
    /// z-score of the latest confirmation test: how well the newest 2 s match the payload read
    /// earlier (0 before any test).
    public private(set) var lastConfirmation: Double = 0

    /// The payload read last, with its coded bits, the plane and time scale it was read under
    /// and the sub-frame (counted from the first sample fed; fractional under a time scale)
    /// where a 2.56 s period of it starts.
    private struct Lock {
        var payload: WatermarkPayload
        var coded: [UInt8]
        var view: Int
        var scale: Double
        var origin: Double
    }
    private var lock: Lock?

    /// Planes analysed: all of them, or the two unscaled ones without the scale search.
    private let planeCount: Int
    /// Whether speed, tempo and pitch changes up to ±5% are searched for (see `AnalysisPlane`).
    public let scaleSearch: Bool

    /// Creates a detector for marks made with `key`. Cost: derives the keyed layout (~0.1 ms).
    /// `scaleSearch: false` looks for unscaled marks only (the detector before the search: for
    /// measurements; after a 1% speed change it finds 0 of 20 3 s windows of speech).
    public init(key: WatermarkKey, scaleSearch: Bool = true) {
        self.scaleSearch = scaleSearch
        planeCount = scaleSearch ? WatermarkDetector.viewCount : 2
        layout = MarkLayout(key: key)
        codec = PayloadCodec(key: key)
        samples = allocateZeroed(1024, Float.self)
        logEnergy = allocateZeroed(WatermarkDetector.viewCount * 8 * MarkGrid.bandCount, Float.self)
        q = allocateZeroed(WatermarkDetector.viewCount * WatermarkDetector.viewStride, Float.self)
        qn = allocateZeroed(WatermarkDetector.viewCount * WatermarkDetector.viewStride, Float.self)
        frameBuf = allocateZeroed(WatermarkDetector.fftSize, Float.self)
        re = allocateZeroed(WatermarkDetector.fftSize / 2 + 1, Float.self)
        im = allocateZeroed(WatermarkDetector.fftSize / 2 + 1, Float.self)
        let G = MarkGrid.groupsPerPair
        memberIndex = allocateZeroed(MarkGrid.pairsPerPeriod * MarkGrid.bandPairCount, Int32.self)
        memberSign = allocateZeroed(MarkGrid.pairsPerPeriod * MarkGrid.bandPairCount, Float.self)
        slotStart = allocateZeroed(MarkGrid.groupSlots + 1, Int32.self)
        var next = 0
        for k in 0..<MarkGrid.pairsPerPeriod {
            for g in 0..<G {
                slotStart[k * G + g] = Int32(next)
                for i in 0..<MarkGrid.bandPairCount where Int(layout.pairGroup[k * MarkGrid.bandPairCount + i]) == g {
                    memberIndex[next] = Int32(i)
                    memberSign[next] = layout.pairSign[k * MarkGrid.bandPairCount + i]
                    next += 1
                }
            }
        }
        slotStart[MarkGrid.groupSlots] = Int32(next)
        syncPairSlot = allocateZeroed(MarkGrid.syncSlots, Int32.self)
        syncStart = allocateZeroed(MarkGrid.syncSlots + 1, Int32.self)
        syncMemberIndex = allocateZeroed(MarkGrid.pairsPerPeriod * MarkGrid.bandPairCount, Int32.self)
        syncMemberSign = allocateZeroed(MarkGrid.pairsPerPeriod * MarkGrid.bandPairCount, Float.self)
        var m = 0
        for (j, gs) in layout.syncSlotList.enumerated() {
            syncPairSlot[j] = Int32(gs / MarkGrid.groupsPerPair)
            syncStart[j] = Int32(m)
            for i in Int(slotStart[gs])..<Int(slotStart[gs + 1]) {
                syncMemberIndex[m] = memberIndex[i]
                syncMemberSign[m] = memberSign[i] * layout.slotSign[gs]
                m += 1
            }
        }
        syncStart[MarkGrid.syncSlots] = Int32(m)
        syncScore = allocateZeroed(WatermarkDetector.periodSubFrames, Float.self)
        syncEnergy = allocateZeroed(WatermarkDetector.periodSubFrames, Float.self)
        syncRows = allocateZeroed(WatermarkDetector.windowFrames * MarkGrid.syncSlots, Float.self)
        let bins = WatermarkDetector.binCount
        binBand = allocateZeroed(WatermarkDetector.viewCount * bins, Int32.self)
        let binHz = Double(WatermarkDetector.analysisSampleRate) / Double(WatermarkDetector.fftSize)
        for (v, plane) in WatermarkDetector.planes.enumerated() {
            // A bin belongs to the band its centre falls in, on the grid scaled by the plane's
            // frequency factor (unscaled: band b is bins 16+4b ..< 20+4b exactly).
            for k in 0..<bins { binBand[v * bins + k] = Int32(MarkGrid.band(ofHz: Double(k) * binHz / plane.frequencyScale)) }
        }
        power = allocateZeroed(bins, Float.self)
        bandEnergy = allocateZeroed(MarkGrid.bandCount, Float.self)
    }

    deinit {
        for p in [samples, logEnergy, q, qn, frameBuf, re, im, memberSign, syncMemberSign, syncScore, syncEnergy, syncRows, power, bandEnergy] {
            p.deallocate()
        }
        for p in [memberIndex, slotStart, syncPairSlot, syncStart, syncMemberIndex, binBand] { p.deallocate() }
    }

    /// Feeds mono samples at `analysisSampleRate`.
    ///
    /// Returns the marked ranges that *finished* during this call: merged, final, each returned
    /// once. A range finishes when the audio has moved more than 3.5 s past its end, so no later
    /// window can extend it. Ranges still growing are in `openRanges`; `finish()` returns all.
    public func process(_ mono: UnsafeBufferPointer<Float>) -> [WatermarkDetection] {
        var finishedNow: [WatermarkDetection] = []
        for x in mono {
            samples[sampleCount & 1023] = x
            sampleCount += 1
            let nextStart = frameCount * WatermarkDetector.hop
            if sampleCount >= nextStart + WatermarkDetector.windowLength {
                analyseFrame(start: nextStart)
                frameCount += 1
                if frameCount > WatermarkDetector.subFramesPerFrame {
                    makePair(frameCount - 1 - WatermarkDetector.subFramesPerFrame)
                    if pairCount >= WatermarkDetector.minimumFrames,
                       pairCount - lastEvaluation >= WatermarkDetector.evaluationHop || lastEvaluation == 0 {
                        if let d = evaluate() { record(d) }
                        lastEvaluation = pairCount
                        finishedNow += closeRanges()
                    }
                }
            }
        }
        return finishedNow
    }

    /// Convenience for arrays.
    public func process(_ mono: [Float]) -> [WatermarkDetection] {
        mono.withUnsafeBufferPointer { process($0) }
    }

    /// End of input: evaluates the final window and returns every marked range found (those
    /// `process` already returned and those still open), merged, in time order. Input shorter
    /// than 3 s is decoded from what there is (coded bits not seen count as erasures); under 1 s
    /// nothing is tried. Measured on the sweep's clean clips: 1 s decodes 43% of the time,
    /// 1.2 s 70%, 1.5 s 89%, 2 s 96% (every clip but pink noise, whose own fluctuations mask
    /// the mark most: 48% at 1.5 s, 78% at 2 s).
    public func finish() -> [WatermarkDetection] {
        if pairCount >= WatermarkDetector.minimumFrames && pairCount != lastEvaluation {
            if let d = evaluate(full: true) { record(d) }
            lastEvaluation = pairCount
        }
        return (finished + open).sorted { $0.start < $1.start }
    }

    /// Ranges found so far that may still grow (the mark was seen in the last few seconds):
    /// what a live display shows as "marked now".
    public var openRanges: [WatermarkDetection] { open }

    private func record(_ d: WatermarkDetection) {
        var merged = d
        var rest: [WatermarkDetection] = []
        for e in open {
            if e.payload == merged.payload && e.start <= merged.end + 0.5 && merged.start <= e.end + 0.5 {
                merged.start = min(merged.start, e.start)
                merged.end = max(merged.end, e.end)
                merged.confidence = max(merged.confidence, e.confidence)
                merged.verified = merged.verified || e.verified
            } else {
                rest.append(e)
            }
        }
        rest.append(merged)
        open = rest.sorted { $0.start < $1.start }
    }

    /// Moves open ranges that no future window can reach (a window spans 3 s and ranges merge
    /// across gaps up to 0.5 s) to `finished`, and returns them.
    private func closeRanges() -> [WatermarkDetection] {
        let now = Double(sampleCount) / Double(WatermarkDetector.analysisSampleRate)
        let reach = Double(WatermarkDetector.windowFrames * WatermarkDetector.hop) / Double(WatermarkDetector.analysisSampleRate) + 0.5
        let done = open.filter { $0.end < now - reach }
        guard !done.isEmpty else { return [] }
        open.removeAll { $0.end < now - reach }
        finished += done
        return done
    }

    private func analyseFrame(start: Int) {
        let w = WatermarkDetector.windowLength
        for i in 0..<w { frameBuf[i] = samples[(start + i) & 1023] * window[i] }
        for i in w..<WatermarkDetector.fftSize { frameBuf[i] = 0 }
        fft.forward(frameBuf, re: re, im: im)
        let bins = WatermarkDetector.binCount
        for k in 0..<bins { power[k] = re[k] * re[k] + im[k] * im[k] }
        let base = (frameCount & 7) * MarkGrid.bandCount
        // Plane 0 puts a floor 30 dB under the frame's mean band energy: bands a codec emptied (or
        // that were empty) give a stable value instead of the log of noise. Plane 1 puts it 15 dB
        // under: bands that weak are then all but ignored, which is right when added noise has
        // buried them (white noise at 20 dB SNR on bass-heavy music: 3 s windows 70% -> 100%)
        // and wrong when they are weak but clean (AAC 64k on speech: 2 s windows 88% -> 66%).
        // Neither view is better everywhere, so both are decoded (see `evaluate`). The other
        // planes are plane 0 on frequency-scaled band grids.
        for v in 0..<planeCount {
            if v == 0 || WatermarkDetector.planes[v].frequencyScale != WatermarkDetector.planes[v - 1].frequencyScale {
                for b in 0..<MarkGrid.bandCount { bandEnergy[b] = 0 }
                let map = binBand + v * bins
                for k in 0..<bins {
                    let b = Int(map[k])
                    if b >= 0 { bandEnergy[b] += power[k] }
                }
            }
            var total: Float = 0
            for b in 0..<MarkGrid.bandCount { total += bandEnergy[b] }
            let mean = total / Float(MarkGrid.bandCount)
            let floor = mean * WatermarkDetector.planes[v].floor + 1e-20
            let out = logEnergy + v * 8 * MarkGrid.bandCount
            for b in 0..<MarkGrid.bandCount { out[base + b] = logf(bandEnergy[b] + floor) }
        }
    }

    /// Pair starting at sub-frame `f`: band log-energy differences 10 ms apart, then across
    /// adjacent bands; clipped so a transient cannot outvote the rest.
    private func makePair(_ f: Int) {
        let a = (f & 7) * MarkGrid.bandCount
        let b = ((f + WatermarkDetector.subFramesPerFrame) & 7) * MarkGrid.bandCount
        let row = (f % WatermarkDetector.historyCapacity)
        let qb = row * MarkGrid.bandPairCount
        let c = WatermarkDetector.clip
        for v in 0..<planeCount {
            let le = logEnergy + v * 8 * MarkGrid.bandCount
            let qv = q + v * WatermarkDetector.viewStride
            for i in 0..<MarkGrid.bandPairCount {
                let d0 = le[a + 2 * i] - le[b + 2 * i]
                let d1 = le[a + 2 * i + 1] - le[b + 2 * i + 1]
                qv[qb + i] = max(-c, min(c, d0 - d1))
            }
        }
        pairCount = f + 1
    }

    static let normClip: Float = 3

    /// Weights the window's observations by how noisy they are: each band-pair is scaled by
    /// its RMS over the window (a band full of transients counts less), then each pair of
    /// frames by its RMS across bands (an onset that moves every band counts less). The mark
    /// is a small part of q, so these RMS values estimate the host noise: close to an ML weighting.
    private func normalizeWindow(view: Int, begin: Int, end: Int) {
        let n = MarkGrid.bandPairCount
        let q = self.q + view * WatermarkDetector.viewStride
        let qn = self.qn + view * WatermarkDetector.viewStride
        var bandRMS = [Float](repeating: 1, count: n)
        do {
            var acc = [Double](repeating: 0, count: n)
            for f in begin..<end {
                let qb = (f % WatermarkDetector.historyCapacity) * n
                for i in 0..<n { acc[i] += Double(q[qb + i] * q[qb + i]) }
            }
            let count = Double(max(1, end - begin))
            for i in 0..<n { bandRMS[i] = Float((acc[i] / count).squareRoot() + 1e-3) }
        }
        let c = WatermarkDetector.normClip
        for f in begin..<end {
            let qb = (f % WatermarkDetector.historyCapacity) * n
            var e: Float = 0
            for i in 0..<n {
                let v = q[qb + i] / bandRMS[i]
                qn[qb + i] = v
                e += v * v
            }
            let scale: Float = 1 / max(0.25, (e / Float(n)).squareRoot())
            for i in 0..<n { qn[qb + i] = max(-c, min(c, qn[qb + i] * scale)) }
        }
    }

    @inline(__always)
    private func groupValue(view: Int, row: Int, pairSlot k: Int, group: Int) -> Float {
        let values = qn + view * WatermarkDetector.viewStride + row * MarkGrid.bandPairCount
        let gs = k * MarkGrid.groupsPerPair + group
        var v: Float = 0
        for j in Int(slotStart[gs])..<Int(slotStart[gs + 1]) { v += memberSign[j] * values[Int(memberIndex[j])] }
        return v
    }

    /// A hypothesis about where the mark is: plane `view`, time stretch `scale`, and the mark's
    /// sub-frame position `alignment` (0..<1024 in its 2.56 s period) at row `reference`. Row f
    /// then sits at mark position alignment + (f - reference) / scale, and the pair of mark
    /// position 8j is read at row reference + scale * (8j - alignment), rounded.
    private struct Candidate {
        var view = 0
        var scale = 1.0
        var alignment: Double
        var reference: Int
        var z: Double
    }

    /// Looks at the last (up to) 3 s of pairs; returns a detection if a payload decodes or the
    /// payload read before is confirmed.
    ///
    /// The 4 decode attempts go to the 4 strongest sync alignments of all planes and time
    /// scales together, so the scale search costs no extra chance of a false payload match: a
    /// fixed number of attempts, each passing the 32-bit check by chance with p = 2^-32. The z of
    /// a scaled hypothesis is lowered by `AnalysisPlane.scaledPenalty` before the ranking, so
    /// unmarked audio ranks (and reports) no higher than without the search, and an unscaled
    /// mark keeps its attempts.
    private func evaluate(full: Bool = false) -> WatermarkDetection? {
        let end = pairCount
        let begin = max(0, end - WatermarkDetector.windowFrames)
        // The scaled hypotheses every `scaledSearchInterval` evaluations (2 s; 3 s windows, so
        // every stretch of a stream is searched whole at least once) and at the end of input;
        // the unscaled ones, and the hypothesis a payload was last read under, every time.
        let searchScaled = scaleSearch && (full || evaluationCount % WatermarkDetector.scaledSearchInterval == 0)
        evaluationCount += 1
        var unscaled: [Candidate] = [], scaled: [Candidate] = []
        for (view, plane) in WatermarkDetector.planes.prefix(planeCount).enumerated() {
            var scales = plane.timeScales
            if !searchScaled {
                scales = plane.shifted ? [] : [1]
                if let l = lock, l.view == view, !scales.contains(l.scale) { scales.append(l.scale) }
            }
            guard !scales.isEmpty else { continue }
            normalizeWindow(view: view, begin: begin, end: end)
            syncSearch(view: view, scales: scales, begin: begin, end: end, unscaled: &unscaled, scaled: &scaled)
        }
        // Unless a scaled hypothesis matches better than every unscaled one, the 4 attempts are
        // the unscaled ones, exactly as without the search; otherwise the 2 best scaled
        // hypotheses take the places of the 2 weakest unscaled ones. (A plain top 4 of
        // everything filled the attempts with scaled near-copies of the best unscaled alignment
        // and lost the other floor's: 1.5 s clips decoded 3 of 5 times instead of 4.)
        var best = unscaled
        if let s = scaled.first, s.z > unscaled.first?.z ?? -.infinity {
            best = (Array(scaled.prefix(2)) + unscaled.prefix(WatermarkDetector.candidatesTried - min(2, scaled.count)))
                .sorted { $0.z > $1.z }
        }
        if let top = best.first { strongestSync = max(strongestSync, top.z) }
        for cand in best {
            decodeAttempts += 1
            if let (d, coded) = decode(cand, begin: begin, end: end) {
                lock = Lock(payload: d.payload, coded: coded, view: cand.view, scale: cand.scale,
                            origin: Double(cand.reference) - cand.scale * cand.alignment)
                return d
            }
        }
        if let l = lock { return confirm(l, begin: max(begin, end - WatermarkDetector.confirmationFrames), end: end) }
        return nil
    }

    /// Sync correlation of one plane at all 1024 alignments and each of its time scales; keeps
    /// the `candidatesTried` best unscaled and best scaled alignments searched so far (best
    /// first, scaled ones with the look-elsewhere penalty taken off their z).
    private func syncSearch(view: Int, scales: [Double], begin: Int, end: Int,
                            unscaled: inout [Candidate], scaled: inout [Candidate]) {
        let S = MarkGrid.syncSlots, mask = WatermarkDetector.periodSubFrames - 1
        let viewBase = qn + view * WatermarkDetector.viewStride
        // 1. Each row against each sync slot's pattern: shared by all time scales.
        for f in begin..<end {
            let values = viewBase + (f % WatermarkDetector.historyCapacity) * MarkGrid.bandPairCount
            let out = syncRows + (f - begin) * S
            for s in 0..<S {
                var v: Float = 0
                for j in Int(syncStart[s])..<Int(syncStart[s + 1]) { v += syncMemberSign[j] * values[Int(syncMemberIndex[j])] }
                out[s] = v
            }
        }
        // 2. Per time scale, each row is the pair of slot k at alignment 8k + round((end - f) / scale).
        let score = syncScore, energy = syncEnergy
        for scale in scales {
            score.update(repeating: 0, count: mask + 1)
            energy.update(repeating: 0, count: mask + 1)
            let inverse = 1 / scale
            for f in begin..<end {
                let shift = Int((Double(end - f) * inverse).rounded())
                let row = syncRows + (f - begin) * S
                for s in 0..<S {
                    let at = (8 * Int(syncPairSlot[s]) &+ shift) & mask
                    let v = row[s]
                    score[at] += v
                    energy[at] += v * v
                }
            }
            let isScaled = !(view <= 1 && scale == 1)
            let penalty = isScaled ? AnalysisPlane.scaledPenalty : 0
            let K = WatermarkDetector.candidatesTried
            var best = isScaled ? scaled : unscaled
            defer { if isScaled { scaled = best } else { unscaled = best } }
            for a in 0...mask where energy[a] > 0 {
                let z = Double(score[a]) / Double(energy[a]).squareRoot() - penalty
                if best.count == K, z <= best[K - 1].z { continue }
                let c = Candidate(view: view, scale: scale, alignment: Double(a), reference: end, z: z)
                let at = best.firstIndex { $0.z < z } ?? best.count
                best.insert(c, at: at)
                if best.count > K { best.removeLast() }
            }
        }
    }

    /// The hypothesis of lock `l` expressed at row `reference`, its origin moved by `shift`
    /// sub-frames.
    private func candidate(_ l: Lock, reference: Int, shift: Double = 0) -> Candidate {
        let period = Double(WatermarkDetector.periodSubFrames)
        var a = (Double(reference) - (l.origin + shift)) / l.scale
        a -= (a / period).rounded(.down) * period
        return Candidate(view: l.view, scale: l.scale, alignment: a, reference: reference, z: 0)
    }

    /// The rows of the window [begin, end) that start a pair under `cand`, with their pair-slot
    /// (0..<128) in the period, in time order.
    private func pairRows(_ cand: Candidate, begin: Int, end: Int) -> [(row: Int, slot: Int)] {
        let P = MarkGrid.pairsPerPeriod
        var out: [(row: Int, slot: Int)] = []
        // Mark position of `begin`, in pairs; the first pair at or after it.
        let first = Int(((cand.alignment + Double(begin - cand.reference) / cand.scale) / 8).rounded(.down)) - 1
        var j = first
        while true {
            let f = Int((Double(cand.reference) + cand.scale * (8 * Double(j) - cand.alignment)).rounded())
            if f >= end { break }
            if f >= begin { out.append((f, ((j % P) + P) % P)) }
            j += 1
        }
        return out
    }

    /// Confirmation, for a window that did not decode in a stream that has already yielded a
    /// payload: the data slots of that payload's mark (all its coded bits; not the sync, which
    /// is the same for every id and, at 36% of the mark, would let another id's mark pass as
    /// this one) are correlated with the newest 2 s of the window, under the plane and time
    /// scale it was read with, at the alignment it was read at and one sub-frame (2.5 ms)
    /// either side (so a slightly wrong time scale is followed). The newest 2 s, not 3:
    /// the question is whether the mark is there *now*, and a window whose older part still
    /// holds the mark while the newer part holds another id would otherwise stretch the range
    /// into the other id's. Only these 3 alignments are tested, not all hypotheses,
    /// and a known pattern needs no decoding, so 2 s of a mark too weak to decode blind is
    /// still recognised: a stream whose mark returns after a pause, or a marked stream through
    /// a noisy stretch. Each test is a z-score, ~N(0, 1) on unmarked audio; at most 6 tests per
    /// second, each passing z ≥ 6.5 with p = 4e-11: one false confirmation per ~130 years of
    /// unmarked audio following a read payload.
    private func confirm(_ l: Lock, begin: Int, end: Int) -> WatermarkDetection? {
        var best: (d: WatermarkDetection, shift: Double)?
        for du in -1...1 {
            confirmationTests += 1
            let d = detection(coded: l.coded, payload: l.payload, cand: candidate(l, reference: end, shift: Double(du)),
                              begin: begin, end: end, verified: false, dataOnly: true)
            if best == nil || d.confidence > best!.d.confidence { best = (d, Double(du)) }
        }
        guard let b = best else { return nil }
        lastConfirmation = b.d.confidence
        strongestConfirmation = max(strongestConfirmation, b.d.confidence)
        guard b.d.confidence >= WatermarkDetector.confirmationThreshold else { return nil }
        // Another payload on the same grid (the stream switched ids) also correlates with this
        // one; the most likely codeword then fits the window clearly better than this payload.
        let cand = candidate(l, reference: end, shift: b.shift)
        if let info = PayloadCodec.viterbi(softValues(cand, begin: begin, end: end)),
           correlate(coded: PayloadCodec.convolve(info), cand: cand, begin: begin, end: end, dataOnly: true).z
            > b.d.confidence + WatermarkDetector.confirmationExcess {
            confirmationsRefused += 1
            return nil
        }
        confirmations += 1
        lock?.origin = l.origin + b.shift
        return b.d
    }

    /// Sums, per coded bit, what the window says about it at alignment `cand` (> 0: bit 0).
    /// Bits whose slots are not in the window (windows under 2.56 s) stay 0: erasures.
    private func softValues(_ cand: Candidate, begin: Int, end: Int) -> [Float] {
        var soft = [Float](repeating: 0, count: PayloadCodec.codedBits)
        for (f, k) in pairRows(cand, begin: begin, end: end) {
            let row = f % WatermarkDetector.historyCapacity
            for grp in 0..<MarkGrid.groupsPerPair {
                let gs = MarkGrid.groupsPerPair * k + grp
                let idx = Int(layout.codedIndex[gs])
                if idx >= 0 { soft[idx] += layout.slotSign[gs] * groupValue(view: cand.view, row: row, pairSlot: k, group: grp) }
            }
        }
        return soft
    }

    /// Viterbi at alignment `cand`; the detection when the payload's check verifies.
    private func decode(_ cand: Candidate, begin: Int, end: Int) -> (WatermarkDetection, [UInt8])? {
        guard let info = PayloadCodec.viterbi(softValues(cand, begin: begin, end: end)) else { return nil }
        let coded = PayloadCodec.convolve(info)
        guard let payload = codec.payload(fromInfo: info) else {
            strongestMatch = max(strongestMatch, correlate(coded: coded, cand: cand, begin: begin, end: end).z)
            return nil
        }
        let d = detection(coded: coded, payload: payload, cand: cand, begin: begin, end: end, verified: true)
        strongestMatch = max(strongestMatch, d.confidence)
        return (d, coded)
    }

    /// Correlation of the window with the mark `coded` at alignment `cand`: the z-score over all
    /// slots (`dataOnly`: over the data slots), and per pair the match of the data slots alone
    /// (the sync is the same for every payload, so it cannot tell where *this* payload's mark
    /// is), with the row each pair was read at.
    private func correlate(coded: [UInt8], cand: Candidate, begin: Int, end: Int,
                           dataOnly: Bool = false) -> (z: Double, match: [Double], rows: [Int]) {
        var match: [Double] = [], rows: [Int] = []
        var total: Double = 0, power: Double = 0
        for (f, k) in pairRows(cand, begin: begin, end: end) {
            let row = f % WatermarkDetector.historyCapacity
            var m: Double = 0
            for grp in 0..<MarkGrid.groupsPerPair {
                let gs = MarkGrid.groupsPerPair * k + grp
                let idx = Int(layout.codedIndex[gs])
                let expected = idx < 0 ? layout.slotSign[gs] : layout.slotSign[gs] * (coded[idx] == 0 ? 1 : -1)
                let v = Double(expected * groupValue(view: cand.view, row: row, pairSlot: k, group: grp))
                if idx >= 0 { m += v }
                if idx >= 0 || !dataOnly {
                    total += v
                    power += v * v
                }
            }
            match.append(m)
            rows.append(f)
        }
        return (power > 0 ? total / power.squareRoot() : 0, match, rows)
    }

    /// The detection for mark `coded` at alignment `cand`: its confidence, and its range
    /// trimmed to the part of the window where the audio actually matches the mark.
    private func detection(coded: [UInt8], payload: WatermarkPayload, cand: Candidate, begin: Int, end: Int,
                           verified: Bool, dataOnly: Bool = false) -> WatermarkDetection {
        let (z, match, rows) = correlate(coded: coded, cand: cand, begin: begin, end: end, dataOnly: dataOnly)
        // Marked extent inside the window: the maximum-sum run of (match - half the mean), so
        // unmarked pairs (mean 0) pull the sum down and marked ones push it up.
        let bias = max(0, match.reduce(0, +) / Double(max(1, match.count))) / 2
        var bestSum = -Double.infinity, bestLo = 0, bestHi = 0
        var run: Double = 0, runLo = 0
        for (j, m) in match.enumerated() {
            if run <= 0 { run = 0; runLo = j }
            run += m - bias
            if run > bestSum { bestSum = run; bestLo = runLo; bestHi = j }
        }
        let rate = Double(WatermarkDetector.analysisSampleRate)
        let hop = Double(WatermarkDetector.hop)
        let startSample = Double(rows.isEmpty ? begin : rows[bestLo]) * hop
        let endSample = Double(rows.isEmpty ? begin : rows[bestHi]) * hop + 2 * Double(WatermarkDetector.windowLength)
        return WatermarkDetection(start: startSample / rate,
                                  end: min(Double(sampleCount), endSample) / rate,
                                  payload: payload, confidence: z, verified: verified)
    }
}
