#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import MarkCore

// Where the mark lives, shared by embedder and detector.
//
// Space: the frame is a 32 x 18 grid of cells defined relative to its size (a rescale of any
// amount maps cells onto cells). Each cell carries one keyed chip (+-1); 96 cells, chosen by the
// key, carry the sync (chip only), the other 480 carry the 213 coded bits (each in 2 or 3 cells
// scattered over the frame, chip times bit sign). The picture is changed by a smooth field:
// cell values interpolated to a 4x finer control grid (128 x 72), scaled there by the local
// texture mask, then interpolated bilinearly to every pixel. So the change has no edges (nothing
// for the eye or an encoder to pick out) and a cell's mean carries ~56% of its own value.
//
// Time: the whole field is multiplied by a keyed temporal sign, constant over 0.2 s slots,
// period 64 slots (12.8 s), defined in media seconds, so any frame rate samples the same
// waveform. Between slots the sign crossfades over 0.1 s (raised cosine): no abrupt flicker.
// A detector averages cell means over a window weighted by the sign: content that stays put
// (or drifts linearly, after the detrend) cancels, the mark adds up over frames.

enum VideoMarkLayout {
    static let cellsX = 32
    static let cellsY = 18
    static let cellCount = cellsX * cellsY                  // 576
    static let syncCellCount = 96
    static let controlPerCell = 4
    static let controlX = cellsX * controlPerCell           // 128
    static let controlY = cellsY * controlPerCell           // 72
    static let slotSeconds = 0.2
    static let slotsPerPeriod = 64
    static let periodSeconds = slotSeconds * Double(slotsPerPeriod)
    static let crossfadeSeconds = 0.1
    /// Smallest frame side: two pixels per cell row (a 161x121 picture is still marked; the
    /// mark on such small frames is weak, but a synthetic frame is never withheld for its size
    /// above this).
    static let minimumSide = 36
}

/// The keyed parts of the layout: chips, which cells carry sync and which coded bit, the
/// temporal sign sequence. Built once per key (a few HMACs and ~600 draws).
struct KeyedLayout: Sendable {
    /// +-1 per cell (row-major, 32 x 18).
    let chip: [Float]
    /// Per cell: -1 for a sync cell, else the coded bit it carries.
    let bitOfCell: [Int]
    let syncCells: [Int]
    /// Cells of each coded bit.
    let cellsOfBit: [[Int]]
    /// +-1 per slot of the period.
    let slotSign: [Float]

    init(key: VideoMarkKey) {
        var g = key.generator("cells")
        chip = (0..<VideoMarkLayout.cellCount).map { _ in g.sign() }
        var order = Array(0..<VideoMarkLayout.cellCount)
        order.shuffle(using: &g)
        var bitOfCell = [Int](repeating: -1, count: VideoMarkLayout.cellCount)
        var cellsOfBit = [[Int]](repeating: [], count: VideoPayloadCodec.codedBits)
        syncCells = Array(order[0..<VideoMarkLayout.syncCellCount]).sorted()
        // The bits' cells: a keyed order of the bits repeated, so every bit gets 2 or 3 cells.
        var bitOrder = Array(0..<VideoPayloadCodec.codedBits)
        bitOrder.shuffle(using: &g)
        for (i, c) in order[VideoMarkLayout.syncCellCount...].enumerated() {
            let b = bitOrder[i % bitOrder.count]
            bitOfCell[c] = b
            cellsOfBit[b].append(c)
        }
        self.bitOfCell = bitOfCell
        self.cellsOfBit = cellsOfBit
        var s = key.generator("slots")
        // Balanced: exactly half the slots of a period are +1, so a full period sums to zero.
        var signs = [Float](repeating: 1, count: VideoMarkLayout.slotsPerPeriod / 2)
            + [Float](repeating: -1, count: VideoMarkLayout.slotsPerPeriod / 2)
        signs.shuffle(using: &s)
        slotSign = signs
    }

    /// The cell values (before mask and temporal sign) for coded bits `coded`: chip, times -1
    /// where the cell's bit is 1.
    func cellValues(coded: [UInt8]) -> [Float] {
        (0..<VideoMarkLayout.cellCount).map { c in
            let b = bitOfCell[c]
            return b < 0 || coded[b] == 0 ? chip[c] : -chip[c]
        }
    }

    /// The temporal sign at media time `t` seconds (in -1...1; +-1 outside crossfades).
    func sign(at t: Double) -> Float {
        let slotPos = t / VideoMarkLayout.slotSeconds
        let k = Int(slotPos.rounded(.down))
        let n = VideoMarkLayout.slotsPerPeriod
        let cur = slotSign[((k % n) + n) % n]
        let into = (slotPos - Double(k)) * VideoMarkLayout.slotSeconds
        guard into < VideoMarkLayout.crossfadeSeconds else { return cur }
        let prev = slotSign[(((k - 1) % n) + n) % n]
        if prev == cur { return cur }
        let w = Float(0.5 - 0.5 * cos(Double.pi * into / VideoMarkLayout.crossfadeSeconds))
        return prev + (cur - prev) * w
    }
}
