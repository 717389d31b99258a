#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// The detector's scale hypotheses.
//
// A speed change (resampling: pitch and tempo together, ffmpeg `asetrate`) by a factor a moves
// every frequency by a and stretches time by 1/a; a tempo change (`atempo`) only stretches
// time; a pitch shift only moves frequencies. +1% speed puts the 10 ms pairs at a 3 s window's
// edges 15 ms out of step with its centre and the top band 70 Hz (half a band) off; measured
// on the unscaled detector (3 s windows, 20 per clip): 0/20 on speech, 12/20 on music; pitch
// +2% (140 Hz at the top band): 0/20 on both. So the detector looks at
// the audio through several *planes*: band grids scaled in frequency (one FFT per frame is
// shared; only the bin-to-band map differs), and within each plane it tries several time
// scales, which only change which 2.5 ms sub-frame rows it reads for each pair (the row values
// are shared, so a time scale costs one scatter-add pass, not an analysis).
//
// Tolerances that set the grid: a time-scale error e shifts a 3 s window's edges by 1.5 s x e
// from its centre: 0.25% is 3.75 ms, a third of a 10 ms frame; so time scales are 0.5% apart.
// A frequency-scale error e moves band 51 (6.9 kHz) by 6.9 kHz x e: 0.5% is 35 Hz, under a
// third of a 125 Hz band; so frequency planes are 1% apart.

/// One view of the audio: a floor under the band energies and a frequency scale for the band
/// grid, with the time scales tried on it.
struct AnalysisPlane: Sendable {
    /// Floor under each band energy, relative to the frame's mean band energy.
    let floor: Float
    /// The band grid's frequencies are multiplied by this (1.02: the audio was pitched up 2%).
    let frequencyScale: Double
    /// Time stretches tried: audio duration / marked duration (1.02: 2% slower).
    let timeScales: [Double]
    /// A frequency-shifted grid: searched only in the detector's periodic scale search (every
    /// 2 s and at the end of input), as each costs one sync correlation pass, the bulk of the
    /// detector's time.
    let shifted: Bool

    /// Largest speed, tempo or pitch change searched: ±5%.
    static let maximumChange = 0.05
    static let timeStep = 0.005
    static let frequencyStep = 0.01

    /// Planes 0 and 1: the unshifted band grid under the two floors (see the detector's
    /// `analyseFrame`); plane 0 also tries every time scale (tempo changes). Planes 2...: band
    /// grids shifted 1% apart up to ±5%, each at time scale 1 (pitch shift) and around the
    /// matching speed change (1/f and 0.5% either side).
    static let all: [AnalysisPlane] = {
        let steps = Int((maximumChange / timeStep).rounded())
        var tempo: [Double] = [1]
        for k in 1...steps { tempo += [1 + Double(k) * timeStep, 1 - Double(k) * timeStep] }
        var planes = [AnalysisPlane(floor: 1e-3, frequencyScale: 1, timeScales: tempo, shifted: false),
                      AnalysisPlane(floor: 3e-2, frequencyScale: 1, timeScales: [1], shifted: false)]
        let fsteps = Int((maximumChange / frequencyStep).rounded())
        for k in 1...fsteps {
            for f in [1 + Double(k) * frequencyStep, 1 - Double(k) * frequencyStep] {
                let t = 1 / f
                planes.append(AnalysisPlane(floor: 1e-3, frequencyScale: f,
                                            timeScales: [1, t, t - timeStep, t + timeStep], shifted: true))
            }
        }
        return planes
    }()

    /// Number of (plane, time scale) hypotheses, each searched at 1024 alignments.
    static let hypothesisCount = all.reduce(0) { $0 + $1.timeScales.count }

    /// Look-elsewhere correction, in z, for a sync match found under any hypothesis but the
    /// unscaled ones: the expected maximum of N independent N(0, 1) scores grows like
    /// sqrt(2 ln N), from 2 x 1024 alignments (unscaled, both floors) to all hypotheses x 1024.
    /// Subtracted from the z of every scaled hypothesis, so on unmarked audio the strongest
    /// score (and with it the presence threshold and which candidates get a decode attempt)
    /// stays where it was without the search.
    static let scaledPenalty: Double = {
        let unscaled = 2.0 * 1024, total = Double(hypothesisCount) * 1024
        return (2 * log(total)).squareRoot() - (2 * log(unscaled)).squareRoot()
    }()
}
