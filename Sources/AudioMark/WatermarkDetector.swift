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

    public init(start: Double, end: Double, payload: WatermarkPayload, confidence: Double) {
        self.start = start; self.end = end; self.payload = payload; self.confidence = confidence
    }

    public var description: String {
        String(format: "%.2f-%.2f s %@ (z=%.1f)", start, end, payload.description, confidence)
    }
}

/// Finds the keyed watermark in mono audio at `analysisSampleRate`, blind (no original needed).
///
/// It keeps the log-energies of the mark's 52 bands every 2.5 ms. Every 0.5 s it looks at the
/// last 3 s: it correlates the keyed sync sequence at all 1024 alignments (8 sub-frame phases x
/// 128 positions in the 2.56 s period), runs the soft-decision Viterbi decoder at the best 4,
/// and reports a payload only when its keyed CRC-32 verifies.
///
/// False positives: that is at most 8 decode attempts per second of audio (measured 7.8/s on
/// unmarked material), each passing the CRC by chance with p = 2^-32, so a false payload from
/// unmarked audio or a wrong key is expected about once per 17 years of continuous audio.
///
/// Threading: not thread-safe; call from one serial queue. Cost: 400 FFTs of 512 points and
/// up to 8 Viterbi decodes per second of audio: ~500x real time on one core, ~270x including
/// the bench's downmix and resampling from 48 kHz stereo (`audiomark-bench speed`). Memory:
/// ~250 KB of history.
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
    static let minimumFrames = 560      // 1.4 s: enough to try
    static let evaluationHop = 200      // 0.5 s
    static let candidatesTried = 4
    static let historyCapacity = 2048
    static let clip: Float = 3

    private let layout: MarkLayout
    private let codec: PayloadCodec
    private let fft = RealFFT(size: fftSize)
    private let window = MarkGrid.sqrtHann(windowLength)
    /// For each sync slot: pair-slot, group, and its keyed sign.
    private let syncPairSlot: [Int]
    private let syncGroup: [Int]

    // Fixed-size storage as `let` raw pointers: touched per sample and per frame, and pointers
    // avoid the dynamic exclusivity checks Swift inserts for a class's `var` arrays.
    private let samples: UnsafeMutablePointer<Float>     // ring of 1024 input samples
    private let logEnergy: UnsafeMutablePointer<Float>   // ring of 8 frames x 52 bands
    private let q: UnsafeMutablePointer<Float>           // ring: per pair-start frame, 26 band-pair diffs
    private let qn: UnsafeMutablePointer<Float>          // q weighted over the current window
    private let frameBuf: UnsafeMutablePointer<Float>
    private let re: UnsafeMutablePointer<Float>
    private let im: UnsafeMutablePointer<Float>
    /// For group-slot s = 2k+g: its 13 band-pair indices and their signs, flattened.
    private let memberIndex: UnsafeMutablePointer<Int32>
    private let memberSign: UnsafeMutablePointer<Float>
    private static let groupSize = MarkGrid.bandPairCount / 2
    private var sampleCount = 0
    private var frameCount = 0                     // sub-frames analysed
    private var pairCount = 0                      // pair-start frames with q available
    private var lastEvaluation = 0
    private var open: [WatermarkDetection] = []
    private var finished: [WatermarkDetection] = []

    /// Highest sync z-score seen in any window so far (presence evidence without a payload).
    public private(set) var strongestSync: Double = 0
    /// Highest correlation (z-score) between the audio and the most likely mark at the best sync
    /// alignments, whether or not its CRC verified. Diagnostic only: the Viterbi decoder picks
    /// the best-matching of 2^65 codewords, so unmarked 2 s windows already score ~8.6.
    public private(set) var strongestMatch: Double = 0
    /// Decode attempts made so far (each is one chance of a false CRC match, 2^-32).
    public private(set) var decodeAttempts = 0


    /// Creates a detector for marks made with `key`. Cost: derives the keyed layout (~0.1 ms).
    public init(key: WatermarkKey) {
        layout = MarkLayout(key: key)
        codec = PayloadCodec(key: key)
        syncPairSlot = layout.syncSlotList.map { $0 / 2 }
        syncGroup = layout.syncSlotList.map { $0 % 2 }
        func buffer<T: Numeric>(_ count: Int, _: T.Type) -> UnsafeMutablePointer<T> {
            let p = UnsafeMutablePointer<T>.allocate(capacity: count)
            p.initialize(repeating: 0, count: count)
            return p
        }
        samples = buffer(1024, Float.self)
        logEnergy = buffer(8 * MarkGrid.bandCount, Float.self)
        q = buffer(WatermarkDetector.historyCapacity * MarkGrid.bandPairCount, Float.self)
        qn = buffer(WatermarkDetector.historyCapacity * MarkGrid.bandPairCount, Float.self)
        frameBuf = buffer(WatermarkDetector.fftSize, Float.self)
        re = buffer(WatermarkDetector.fftSize / 2 + 1, Float.self)
        im = buffer(WatermarkDetector.fftSize / 2 + 1, Float.self)
        let gsz = WatermarkDetector.groupSize
        memberIndex = buffer(MarkGrid.groupSlots * gsz, Int32.self)
        memberSign = buffer(MarkGrid.groupSlots * gsz, Float.self)
        for k in 0..<MarkGrid.pairsPerPeriod {
            var filled = [0, 0]
            for i in 0..<MarkGrid.bandPairCount {
                let g = Int(layout.pairGroup[k * MarkGrid.bandPairCount + i])
                let slot = (2 * k + g) * gsz + filled[g]
                memberIndex[slot] = Int32(i)
                memberSign[slot] = layout.pairSign[k * MarkGrid.bandPairCount + i]
                filled[g] += 1
            }
        }
    }

    deinit {
        for p in [samples, logEnergy, q, qn, frameBuf, re, im, memberSign] { p.deallocate() }
        memberIndex.deallocate()
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
    /// `process` already returned and those still open), merged, in time order.
    public func finish() -> [WatermarkDetection] {
        if pairCount >= WatermarkDetector.minimumFrames && pairCount != lastEvaluation {
            if let d = evaluate() { record(d) }
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
        // 31.25 Hz bins: band b is bins 16+4b ..< 20+4b exactly.
        let base = (frameCount & 7) * MarkGrid.bandCount
        var total: Float = 0
        for b in 0..<MarkGrid.bandCount {
            var e: Float = 0
            let k0 = 16 + 4 * b
            for k in k0..<(k0 + 4) { e += re[k] * re[k] + im[k] * im[k] }
            logEnergy[base + b] = e
            total += e
        }
        // A floor 30 dB under the frame's mean band energy: bands a codec emptied (or that were
        // empty) give a stable value instead of the log of noise.
        let floor = total / Float(MarkGrid.bandCount) * 1e-3 + 1e-20
        for b in 0..<MarkGrid.bandCount { logEnergy[base + b] = logf(logEnergy[base + b] + floor) }
    }

    /// Pair starting at sub-frame `f`: band log-energy differences 10 ms apart, then across
    /// adjacent bands; clipped so a transient cannot outvote the rest.
    private func makePair(_ f: Int) {
        let a = (f & 7) * MarkGrid.bandCount
        let b = ((f + WatermarkDetector.subFramesPerFrame) & 7) * MarkGrid.bandCount
        let row = (f % WatermarkDetector.historyCapacity)
        let qb = row * MarkGrid.bandPairCount
        let c = WatermarkDetector.clip
        for i in 0..<MarkGrid.bandPairCount {
            let d0 = logEnergy[a + 2 * i] - logEnergy[b + 2 * i]
            let d1 = logEnergy[a + 2 * i + 1] - logEnergy[b + 2 * i + 1]
            q[qb + i] = max(-c, min(c, d0 - d1))
        }
        pairCount = f + 1
    }

    static let normClip: Float = 3

    /// Weights the window's observations by how noisy they are: each band-pair is scaled by
    /// its RMS over the window (a band full of transients counts less), then each pair of
    /// frames by its RMS across bands (an onset that moves every band counts less). The mark
    /// is a small part of q, so these RMS values estimate the host noise: close to an ML weighting.
    private func normalizeWindow(begin: Int, end: Int) {
        let n = MarkGrid.bandPairCount
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
    private func groupValue(row: Int, pairSlot k: Int, group: Int) -> Float {
        let values = qn + row * MarkGrid.bandPairCount
        let base = (2 * k + group) * WatermarkDetector.groupSize
        var v: Float = 0
        for j in 0..<WatermarkDetector.groupSize { v += memberSign[base + j] * values[Int(memberIndex[base + j])] }
        return v
    }

    private struct Candidate { var phase: Int; var offset: Int; var z: Double }

    /// Looks at the last (up to) 3 s of pairs; returns a detection if a payload decodes.
    private func evaluate() -> WatermarkDetection? {
        let end = pairCount
        let begin = max(0, end - WatermarkDetector.windowFrames)
        let P = MarkGrid.pairsPerPeriod
        normalizeWindow(begin: begin, end: end)
        var score = [Double](repeating: 0, count: 8 * P)
        var energy = [Double](repeating: 0, count: 8 * P)
        for f in begin..<end {
            let g = f & 7
            let pairIndex = f >> 3
            let row = f % WatermarkDetector.historyCapacity
            for s in 0..<MarkGrid.syncSlots {
                let v = Double(groupValue(row: row, pairSlot: syncPairSlot[s], group: syncGroup[s])
                    * layout.slotSign[layout.syncSlotList[s]])
                // This pair is slot (pairIndex + phi) mod P; it matches sync slot s when that is s's slot.
                var phi = (syncPairSlot[s] - pairIndex) % P
                if phi < 0 { phi += P }
                score[g * P + phi] += v
                energy[g * P + phi] += v * v
            }
        }
        var cands: [Candidate] = []
        for g in 0..<8 {
            for phi in 0..<P where energy[g * P + phi] > 0 {
                cands.append(Candidate(phase: g, offset: phi, z: score[g * P + phi] / energy[g * P + phi].squareRoot()))
            }
        }
        cands.sort { $0.z > $1.z }
        if let best = cands.first { strongestSync = max(strongestSync, best.z) }
        for cand in cands.prefix(WatermarkDetector.candidatesTried) {
            decodeAttempts += 1
            if let d = decode(cand, begin: begin, end: end) { return d }
        }
        return nil
    }

    private func decode(_ cand: Candidate, begin: Int, end: Int) -> WatermarkDetection? {
        let P = MarkGrid.pairsPerPeriod
        var soft = [Float](repeating: 0, count: PayloadCodec.codedBits)
        var firstPair = begin
        while firstPair & 7 != cand.phase { firstPair += 1 }
        var f = firstPair
        while f < end {
            let k = ((f >> 3) + cand.offset) % P
            let row = f % WatermarkDetector.historyCapacity
            for grp in 0..<2 {
                let gs = 2 * k + grp
                let idx = Int(layout.codedIndex[gs])
                if idx >= 0 { soft[idx] += layout.slotSign[gs] * groupValue(row: row, pairSlot: k, group: grp) }
            }
            f += 8
        }
        guard let info = PayloadCodec.viterbi(soft) else { return nil }
        // Re-encode and measure, pair by pair, how well the audio matches the decoded mark:
        // gives the confidence and where in the window the mark actually is.
        let coded = PayloadCodec.convolve(info)
        var match: [Double] = []
        var total: Double = 0, power: Double = 0
        f = firstPair
        while f < end {
            let k = ((f >> 3) + cand.offset) % P
            let row = f % WatermarkDetector.historyCapacity
            var m: Double = 0
            for grp in 0..<2 {
                let gs = 2 * k + grp
                let idx = Int(layout.codedIndex[gs])
                let expected = idx < 0 ? layout.slotSign[gs] : layout.slotSign[gs] * (coded[idx] == 0 ? 1 : -1)
                let v = Double(expected * groupValue(row: row, pairSlot: k, group: grp))
                m += v
                power += v * v
            }
            total += m
            match.append(m)
            f += 8
        }
        let z = power > 0 ? total / power.squareRoot() : 0
        strongestMatch = max(strongestMatch, z)
        guard let payload = codec.payload(fromInfo: info) else { return nil }
        // Marked extent inside the window: the maximum-sum run of (match - half the mean), so
        // unmarked pairs (mean 0) pull the sum down and marked ones push it up.
        let bias = max(0, total / Double(max(1, match.count))) / 2
        var bestSum = -Double.infinity, bestLo = 0, bestHi = 0
        var run: Double = 0, runLo = 0
        for (j, m) in match.enumerated() {
            if run <= 0 { run = 0; runLo = j }
            run += m - bias
            if run > bestSum { bestSum = run; bestLo = runLo; bestHi = j }
        }
        let rate = Double(WatermarkDetector.analysisSampleRate)
        let hop = Double(WatermarkDetector.hop)
        let startSample = Double(firstPair + 8 * bestLo) * hop
        let endSample = Double(firstPair + 8 * bestHi) * hop + 2 * Double(WatermarkDetector.windowLength)
        return WatermarkDetection(start: startSample / rate,
                                  end: min(Double(sampleCount), endSample) / rate,
                                  payload: payload, confidence: z)
    }
}
